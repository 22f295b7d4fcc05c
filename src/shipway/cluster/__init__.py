"""Targets: the only modules that talk to a Kubernetes API or a podman host."""
