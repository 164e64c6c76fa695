"""HTTP surface of the daemon: health probes, Prometheus metrics, the dashboard and its API."""
