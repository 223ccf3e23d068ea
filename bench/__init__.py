"""The benchmark suite: the service under wrk, beside the machine's limits (bench/README.md)."""
