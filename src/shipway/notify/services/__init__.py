"""Notification services, one module each, behind one interface (``base.Service``).

``service_for(config)`` returns the sender for a ``ServiceConfig``: webhook
(any HTTP method, headers, basic auth), slack (``chat.postMessage`` and
``chat.update`` for ``deliveryPolicy: PostAndUpdate``), email (SMTP), teams
(MessageCard), teams-workflows (Adaptive Card), github (commit status, pull request
comment edited in place, deployment, check run);
Flux's provider types are ``flux_providers`` (``flux:<type>``), its change request
comment types ``flux_comments``, ``googlechat`` and ``alertmanager``
``flux_alerting``, ``bitbucket`` ``flux_bitbucket``, ``opsgenie`` and ``pagerduty``
``flux_incidents``, ``webex`` and ``telegram`` ``flux_chat``.
"""

from __future__ import annotations

from shipway.notify.config import ServiceConfig
from shipway.notify.services import (
    flux_alerting,
    flux_bitbucket,
    flux_chat,
    flux_comments,
    flux_incidents,
    flux_providers,
)
from shipway.notify.services.base import DeliveryError, Service
from shipway.notify.services.email import EmailService
from shipway.notify.services.github import GitHubService
from shipway.notify.services.slack import SlackService
from shipway.notify.services.teams import TeamsService
from shipway.notify.services.teams_workflows import TeamsWorkflowsService
from shipway.notify.services.webhook import WebhookService

__all__ = ["DeliveryError", "Service", "service_for"]

_TYPES: dict[str, type[Service]] = {
    "webhook": WebhookService,
    "slack": SlackService,
    "email": EmailService,
    "teams": TeamsService,
    "teams-workflows": TeamsWorkflowsService,
    "github": GitHubService,
    **flux_providers.TYPES,
    **flux_comments.TYPES,
    **flux_alerting.TYPES,
    **flux_bitbucket.TYPES,
    **flux_incidents.TYPES,
    **flux_chat.TYPES,
}


def service_for(config: ServiceConfig) -> Service:
    cls = _TYPES.get(config.type)
    if cls is None:
        what = config.type.removeprefix("flux:")
        raise DeliveryError(f"service type {what!r} is not supported by shipway yet")
    return cls(config)
