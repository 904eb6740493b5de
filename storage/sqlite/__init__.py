"""The embedded SQLite engine: writer thread, read pool, WAL checkpoints, search tail,
schema and migrations. Implements storage.interfaces; knows nothing of the domain."""
