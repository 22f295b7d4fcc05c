"""Notifications: webhook, Slack-compatible, SMTP, forge commit status.

Not built yet: this package only reserves its place in the layers (pyproject.toml).
"""
