"""HTTP server: REST API, webhook receivers, web UI."""
