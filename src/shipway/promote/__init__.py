"""Promotion through stages and gates, previews, rollback on failure."""
