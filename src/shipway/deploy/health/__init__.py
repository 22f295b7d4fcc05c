"""Health of live objects with Argo CD status names and ordering. Pure: no I/O."""
