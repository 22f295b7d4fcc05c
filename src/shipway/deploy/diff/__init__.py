"""Desired-versus-live comparison after normalisation. Pure: no I/O."""
