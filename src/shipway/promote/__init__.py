"""Promotion through stages and gates, previews, rollback on failure.

Not built yet: this package only reserves its place in the layers (pyproject.toml).
"""
