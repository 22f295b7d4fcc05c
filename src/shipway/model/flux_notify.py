"""Flux notification-controller kinds as Flux documents them (``notification.toolkit.fluxcd.io``).

- ``ProviderSpec`` (v1beta3, v1beta2): ``type`` (shipway sends ``generic``,
  ``generic-hmac``, ``slack``, ``msteams``, ``rocket``, ``discord``, ``github``,
  ``gitlab``, ``gitea``, ``bitbucket``, ``googlechat``, ``alertmanager``, ``opsgenie``,
  ``pagerduty``, ``grafana``, ``githubdispatch``, ``webex``, ``telegram``, ``matrix``,
  ``lark`` and the three change request comment types; the other Flux types
  are refused at apply, naming the ones shipway sends), ``address``,
  ``channel``, ``username``, ``secretRef``, ``timeout``, ``suspend``,
  ``serviceAccountName`` (accepted; workload identity is for types shipway does
  not send), ``certSecretRef`` (``ca.crt``, ``tls.crt``/``tls.key``)
  and ``proxy``/``proxySecretRef`` on the HTTP types (``TLS_TYPES``; on the
  commit-status types they are accepted and refused at delivery, naming the
  field, by ``notify.worker_flux``), ``commitStatusExpr`` (CEL, ``flux_cel``:
  its syntax checked at apply).
- ``AlertSpec`` (v1beta3, v1beta2): ``providerRef``, ``eventSources`` (kind,
  name with ``*``, namespace, matchLabels), ``eventSeverity`` info|error,
  ``inclusionList``/``exclusionList`` (regular expressions on the message,
  checked at apply), ``eventMetadata``, ``summary``, ``suspend``.
- ``ReceiverSpec`` (v1, v1beta2): ``type`` (``ACCEPTED_RECEIVERS``; Flux's other
  types are refused at apply), ``events``, ``resources``
  (kind, name with ``*``, namespace, matchLabels, ``filter``), ``secretRef``
  (required but for ``generic-oidc``), ``suspend``, ``oidcProviders``,
  ``resourceFilter`` (the CEL filters on ``res`` and ``req``, their syntax
  checked at apply), ``oidcProviders`` for ``generic-oidc``
  (``controller.flux_oidc``);
  ``webhook_path(token, name, namespace)`` is Flux's
  ``/hook/<sha256(token+name+namespace)>``.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shipway.model import flux_cel

GROUP = "notification.toolkit.fluxcd.io"
PROVIDER_TYPES = (
    "generic", "generic-hmac", "slack", "msteams", "github", "gitlab", "gitea", "discord",
    "rocket", "googlechat", "webex", "sentry", "azuredevops", "bitbucket", "bitbucketserver",
    "opsgenie", "alertmanager", "grafana", "githubdispatch", "lark", "matrix", "pagerduty",
    "datadog", "nats", "telegram", "googlepubsub", "azureeventhub", "otel", "zulip", "zoom",
    "incident.io", "githubpullrequestcomment", "gitlabmergerequestcomment",
    "giteapullrequestcomment",
)  # fmt: skip
SENT_TYPES = ("generic", "generic-hmac", "slack", "msteams", "rocket", "discord", "github",
              "gitlab", "gitea", "bitbucket", "googlechat", "alertmanager", "opsgenie",
              "pagerduty", "grafana", "githubdispatch", "webex", "telegram", "matrix", "lark",
              "githubpullrequestcomment", "gitlabmergerequestcomment",
              "giteapullrequestcomment")  # fmt: skip
TLS_TYPES = (
    "generic",
    "generic-hmac",
    "slack",
    "msteams",
    "rocket",
    "discord",
    "googlechat",
    "alertmanager",
)  # TLS, proxy
RECEIVER_TYPES = ("generic", "generic-hmac", "generic-oidc", "github", "gitlab", "gitea",
                  "bitbucket", "harbor", "dockerhub", "quay", "gcr", "nexus", "acr",
                  "cdevents")  # fmt: skip
ACCEPTED_RECEIVERS = (
    "generic",
    "generic-hmac",
    "generic-oidc",
    "github",
    "gitlab",
    "gitea",
    "harbor",
    "dockerhub",
    "quay",
)
_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LocalRef(_Strict):
    name: str = Field(min_length=1)


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"type {value!r} is not one of {', '.join(allowed)}")
    return value


def _built(value: str, built: tuple[str, ...], kind: str, verb: str) -> str:
    """A Flux type shipway has not built is refused at apply, naming what it has."""
    if value not in built:
        raise ValueError(f"type {value!r} is a Flux {kind} type shipway does not support yet "
                         f"(it {verb} {', '.join(built)})")  # fmt: skip
    return value


class ProviderSpec(_Strict):
    type: str
    address: str = ""
    channel: str = ""
    username: str = ""
    secret_ref: LocalRef | None = Field(None, alias="secretRef")
    timeout: str = ""
    suspend: bool = False
    interval: str = ""  # deprecated in Flux, accepted and ignored
    proxy: str = ""
    proxy_secret_ref: LocalRef | None = Field(None, alias="proxySecretRef")
    cert_secret_ref: LocalRef | None = Field(None, alias="certSecretRef")
    commit_status_expr: str = Field("", alias="commitStatusExpr")
    service_account_name: str = Field("", alias="serviceAccountName")

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        return _built(_one_of(value, PROVIDER_TYPES), SENT_TYPES, "Provider", "sends")

    @field_validator("commit_status_expr")
    @classmethod
    def _cel(cls, value: str) -> str:
        return flux_cel.check(value) if value else value

    @field_validator("timeout", "interval")
    @classmethod
    def _duration(cls, value: str) -> str:
        if value and not _DURATION.match(value):
            raise ValueError(f"{value!r} is not a duration (e.g. 20s, 1m30s)")
        return value

    def unsupported(self) -> list[str]:
        """The fields set that shipway cannot honour yet (delivery refuses them, naming each)."""
        out = []
        where = f"on a {self.type} Provider (shipway takes it on {', '.join(TLS_TYPES)})"
        if (self.proxy or self.proxy_secret_ref is not None) and self.type not in TLS_TYPES:
            out.append(f"proxy/proxySecretRef {where}")
        if self.cert_secret_ref is not None and self.type not in TLS_TYPES:
            out.append(f"certSecretRef {where}")
        return out


class CrossRef(_Strict):
    kind: str = Field(min_length=1)
    name: str = Field(min_length=1)
    namespace: str = ""
    api_version: str = Field("", alias="apiVersion")
    match_labels: dict[str, str] = Field(default_factory=dict, alias="matchLabels")

    @model_validator(mode="after")
    def _labels_need_star(self) -> CrossRef:
        if self.match_labels and self.name != "*":
            raise ValueError("matchLabels is only used with name: '*'")
        return self


def _regexes(values: list[str]) -> list[str]:
    for i, value in enumerate(values):
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"[{i}] {value!r} is not a regular expression: {exc}") from None
    return values


class AlertSpec(_Strict):
    provider_ref: LocalRef = Field(alias="providerRef")
    event_sources: list[CrossRef] = Field(alias="eventSources", min_length=1)
    event_severity: Literal["info", "error"] = Field("info", alias="eventSeverity")
    inclusion_list: list[str] = Field(default_factory=list, alias="inclusionList")
    exclusion_list: list[str] = Field(default_factory=list, alias="exclusionList")
    event_metadata: dict[str, str] = Field(default_factory=dict, alias="eventMetadata")
    summary: str = ""
    suspend: bool = False

    @field_validator("inclusion_list", "exclusion_list")
    @classmethod
    def _lists(cls, value: list[str]) -> list[str]:
        return _regexes(value)


class ReceiverResource(CrossRef):
    filter: str = ""  # CEL on ``res`` and ``req``

    @field_validator("filter")
    @classmethod
    def _cel(cls, value: str) -> str:
        return flux_cel.check(value) if value else value


class OIDCVariable(_Strict):
    name: str = Field(min_length=1)
    expression: str = Field(min_length=1)


class OIDCValidation(_Strict):
    expression: str = Field(min_length=1)
    message: str = ""


class OIDCProvider(_Strict):
    issuer_url: str = Field(alias="issuerURL", min_length=1)
    audience: str = ""
    variables: list[OIDCVariable] = Field(default_factory=list)
    validations: list[OIDCValidation] = Field(default_factory=list)


class ReceiverSpec(_Strict):
    type: str
    events: list[str] = Field(default_factory=list)
    resources: list[ReceiverResource] = Field(min_length=1)
    secret_ref: LocalRef | None = Field(None, alias="secretRef")
    interval: str = ""
    suspend: bool = False
    resource_filter: str = Field("", alias="resourceFilter")
    oidc_providers: list[OIDCProvider] = Field(default_factory=list, alias="oidcProviders")

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        return _built(_one_of(value, RECEIVER_TYPES), ACCEPTED_RECEIVERS, "Receiver", "serves")

    @model_validator(mode="after")
    def _secret(self) -> ReceiverSpec:
        if self.secret_ref is None and self.type != "generic-oidc":
            raise ValueError(f"secretRef is required for a {self.type} Receiver")
        if self.type == "generic-oidc" and not self.oidc_providers:
            raise ValueError("a generic-oidc Receiver needs oidcProviders")
        if self.type == "generic-oidc" and self.secret_ref is not None:
            raise ValueError("a generic-oidc Receiver takes no secretRef (the token is its "
                             "credential), as Flux rejects it")  # fmt: skip
        return self

    @field_validator("resource_filter")
    @classmethod
    def _cel(cls, value: str) -> str:
        return flux_cel.check(value) if value else value


def webhook_path(token: str, name: str, namespace: str) -> str:
    """Flux's receiver URL path: ``/hook/`` + sha256(token + name + namespace) in hex."""
    return "/hook/" + hashlib.sha256(f"{token}{name}{namespace}".encode()).hexdigest()


def name_matches(pattern: str, name: str) -> bool:
    """An event source or receiver resource ``name``: exact, or ``*`` for any."""
    return pattern == "*" or pattern == name
