"""HTTP surface of the daemon: health probes and Prometheus metrics."""
