"""The notification tests' receivers (``notify_receivers``) as fixtures."""

from notify_receivers import slack_api, smtp, webhook

__all__ = ["slack_api", "smtp", "webhook"]
