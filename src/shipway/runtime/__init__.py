"""Where things run: host processes, supervised services, podman configuration."""
