"""conf-bench: the benchmark of the forwarding path (see docs/performance.md)."""
