"""The PostgreSQL engine (asyncpg): schema and migrations, SQL translation, engine."""
