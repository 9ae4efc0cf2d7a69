"""firstcall's benchmarks: `make bench` (or `python -m bench [NAME ...] [--quick]`); see bench/README.md."""
