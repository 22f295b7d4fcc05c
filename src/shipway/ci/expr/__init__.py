"""The GitHub Actions expression language: parse and evaluate. Pure: no I/O."""
