"""msglog storage benchmarks: `python -m bench --help`."""
