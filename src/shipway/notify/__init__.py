"""Notifications: webhook, Slack-compatible, SMTP, forge commit status."""
