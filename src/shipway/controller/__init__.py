"""The controller: receives events (git pushes, registry pushes) and drives the engines."""
