"""msglog HTTP service."""
