"""YAML edits that keep every byte but the changed scalars. Pure: no I/O."""
