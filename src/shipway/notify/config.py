"""The ``argocd-notifications-cm`` ConfigMap, read as Argo CD documents it.

Pure: no I/O. ``parse_config(data, secrets)`` turns the ConfigMap's ``data``
(string keys to YAML strings) into a ``NotifyConfig``:

- ``service.webhook.<name>``, ``service.slack``, ``service.email`` and
  ``service.email.<name>``, ``service.teams`` and ``service.teams-workflows``
  (``recipientUrls``) and
  ``service.github`` (others are kept as ``ServiceConfig`` of their type and
  refused at delivery); a service's ``rateLimit`` (shipway: ``N/DURATION``)
  is checked here (``shipway.notify.policy``);
- ``template.<name>``: ``message`` and the per-service fields, kept as raw
  mappings for ``render``;
- ``trigger.<name>``: a list of ``{when, send, oncePer}`` conditions, with
  shipway's ``afterRepeats: N`` (alert only from the Nth occurrence of the
  condition on) and ``resetWhen`` (the expression that ends a run of
  occurrences; by default the app is deployed: last sync Succeeded, Healthy,
  Synced), ignored by Argo CD;
- ``defaultTriggers`` and ``defaultTriggers.<service>`` (that service's own
  defaults, over ``defaultTriggers``), ``subscriptions`` and ``context``.

Templates see the secret's values as ``.secrets`` (``NotifyConfig.secrets``);
the values a template names (``.secrets.<key>``, ``index .secrets "<key>"``)
are masked like the services' own wherever a delivery is logged.

Values that are ``$key`` (or ``$key`` inside a string, as in
``Bearer $token``) are looked up in ``secrets`` (the
``argocd-notifications-secret`` data); a missing key is an ``InputError``
naming it. Bad configuration is an ``InputError`` naming the ConfigMap key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from shipway.model import bounded
from shipway.model.errors import InputError
from shipway.notify.policy import parse_rate

CM_NAME = "argocd-notifications-cm"
SECRET_NAME = "argocd-notifications-secret"

_SECRET_REF = re.compile(r"\$([A-Za-z0-9_.-]+)")
_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$")


def _err(key: str, message: str) -> InputError:
    return InputError(message, subject=f"ConfigMap/{CM_NAME}: data.{key}")


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """One notification service: ``type`` (webhook, slack, email...), its name, its options."""

    type: str
    name: str
    options: Mapping[str, Any]
    secret_values: tuple[str, ...] = ()  # resolved secret values, to mask in messages


@dataclass(frozen=True, slots=True)
class Condition:
    """One entry of a trigger: ``when`` an expression, ``send`` template names."""

    when: str
    send: tuple[str, ...]
    once_per: str = ""
    description: str = ""
    after_repeats: int = 1
    reset_when: str = ""


@dataclass(frozen=True, slots=True)
class Trigger:
    name: str
    conditions: tuple[Condition, ...]


_EVENT = re.compile(r"\bevent\b")
_APP = re.compile(r"\bapp\b")


def is_event_trigger(trigger: Trigger) -> bool:
    """A trigger on shipway's events (its ``when`` names ``event``, not ``app``)."""
    return any(_EVENT.search(c.when) and not _APP.search(c.when) for c in trigger.conditions)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A ``subscriptions`` entry: recipients (``service:recipient``), triggers, selector."""

    recipients: tuple[str, ...]
    triggers: tuple[str, ...]
    selector: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    services: Mapping[str, ServiceConfig] = field(default_factory=dict)
    templates: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    triggers: Mapping[str, Trigger] = field(default_factory=dict)
    default_triggers: tuple[str, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    context: Mapping[str, str] = field(default_factory=dict)
    service_default_triggers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def secret_values(self) -> tuple[str, ...]:
        return tuple(v for s in self.services.values() for v in s.secret_values)

    def defaults_for(self, service: str) -> tuple[str, ...]:
        """The triggers a subscription without any uses for ``service``."""
        return self.service_default_triggers.get(service) or self.default_triggers


def _yaml(key: str, text: str) -> Any:
    try:
        bounded.check_yaml(text, f"data.{key}")
    except InputError as exc:
        raise _err(key, f"{exc.subject}: {exc.message}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise _err(key, f"not valid YAML{where}: {problem}") from None


def _resolve(key: str, value: Any, secrets: Mapping[str, str], used: list[str]) -> Any:
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in secrets:
                raise _err(key, f"secret reference ${name}: no key {name!r} in {SECRET_NAME}")
            used.append(secrets[name])
            return secrets[name]

        return _SECRET_REF.sub(sub, value)
    if isinstance(value, list):
        return [_resolve(key, v, secrets, used) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(key, v, secrets, used) for k, v in value.items()}
    return value


def _service(key: str, text: str, secrets: Mapping[str, str]) -> ServiceConfig:
    parts = key.split(".", 2)
    stype = parts[1]
    name = parts[2] if len(parts) > 2 else stype
    if not stype or not name or not _NAME.match(name):
        raise _err(key, "a service key is service.<type> or service.<type>.<name>")
    raw = _yaml(key, text)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _err(key, "a service is a mapping of its options")
    used: list[str] = []
    opts = _resolve(key, raw, secrets, used)
    if stype == "webhook":
        if not isinstance(opts.get("url"), str) or not opts["url"]:
            raise _err(key, "a webhook service needs url")
        headers = opts.get("headers") or []
        if not isinstance(headers, list) or not all(
            isinstance(h, dict) and isinstance(h.get("name"), str) for h in headers
        ):
            raise _err(key, "headers is a list of {name, value}")
        auth = opts.get("basicAuth")
        if auth is not None and not (isinstance(auth, dict) and "username" in auth):
            raise _err(key, "basicAuth is {username, password}")
    elif stype == "email":
        if not opts.get("host"):
            raise _err(key, "an email service needs host")
        try:
            int(opts.get("port", 25))
        except (TypeError, ValueError):
            raise _err(key, f"port is a number, not {opts.get('port')!r}") from None
        if not opts.get("from"):
            raise _err(key, "an email service needs from")
    elif stype == "slack" and not opts.get("token") and not opts.get("apiURL"):
        raise _err(key, "a slack service needs token (and may set apiURL)")
    elif stype in ("teams", "teams-workflows"):
        urls = opts.get("recipientUrls")
        if (
            not isinstance(urls, dict)
            or not urls
            or not all(isinstance(u, str) for u in urls.values())
        ):
            raise _err(key, f"a {stype} service needs recipientUrls (recipient name: URL)")
    if "rateLimit" in opts:
        try:
            parse_rate(str(opts["rateLimit"]), subject=key)
        except InputError as exc:
            raise _err(key, exc.message) from None
    return ServiceConfig(stype, name, opts, tuple(v for v in used if v))


def _template(key: str, text: str) -> dict[str, Any]:
    raw = _yaml(key, text)
    if not isinstance(raw, dict):
        raise _err(key, "a template is a mapping (message, email, slack, webhook...)")
    if "message" in raw and not isinstance(raw["message"], str):
        raise _err(key, "message is a string")
    webhook = raw.get("webhook")
    if webhook is not None and (
        not isinstance(webhook, dict) or not all(isinstance(v, dict) for v in webhook.values())
    ):
        raise _err(key, "webhook is a mapping of service name to {method, path, body}")
    return raw


def _trigger(key: str, text: str) -> Trigger:
    name = key.split(".", 1)[1]
    raw = _yaml(key, text)
    if isinstance(raw, dict) and "when" in raw:  # examples.md writes it so; Argo CD refuses it
        raise _err(key, "a trigger is a list of conditions: write this one condition as a "
                   "list item ('- when: ...'), as Argo CD requires")  # fmt: skip
    if not isinstance(raw, list) or not raw:
        raise _err(key, "a trigger is a list of conditions ({when, send, oncePer})")
    conds = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise _err(key, f"condition [{i}] is not a mapping")
        when, send = item.get("when"), item.get("send")
        if not isinstance(when, str) or not when.strip():
            raise _err(key, f"condition [{i}] needs when (an expression)")
        if not isinstance(send, list) or not send or not all(isinstance(s, str) for s in send):
            raise _err(key, f"condition [{i}] needs send (a list of template names)")
        once = item.get("oncePer", "")
        if not isinstance(once, str):
            raise _err(key, f"condition [{i}] oncePer is an expression string")
        after = item.get("afterRepeats", 1)
        if isinstance(after, bool) or not isinstance(after, int) or after < 1:
            raise _err(key, f"condition [{i}] afterRepeats is a whole number from 1, not {after!r}")
        reset = item.get("resetWhen", "")
        if not isinstance(reset, str):
            raise _err(key, f"condition [{i}] resetWhen is an expression string")
        conds.append(Condition(when, tuple(send), once, str(item.get("description", "")),
                               after, reset))  # fmt: skip
    return Trigger(name, tuple(conds))


def _str_list(key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _err(key, "expected a list of strings")
    return tuple(value)


def _subscriptions(key: str, text: str) -> tuple[Subscription, ...]:
    raw = _yaml(key, text) or []
    if not isinstance(raw, list):
        raise _err(key, "subscriptions is a list of {recipients, triggers, selector}")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise _err(key, f"subscription [{i}] is not a mapping")
        sel: dict[str, str] = {}
        for part in str(item.get("selector") or "").split(","):
            if part.strip():
                k, eq, v = part.partition("=")
                if not eq:
                    raise _err(key, f"subscription [{i}] selector {part!r} is not label=value")
                sel[k.strip()] = v.strip().lstrip("=")
        out.append(
            Subscription(
                _str_list(f"{key}[{i}].recipients", item.get("recipients")),
                _str_list(f"{key}[{i}].triggers", item.get("triggers")),
                sel,
            )
        )
    return tuple(out)


def parse_config(data: Mapping[str, str], secrets: Mapping[str, str] | None = None) -> NotifyConfig:
    """Read a ConfigMap's ``data``; unknown keys are ignored, as Argo CD does."""
    secrets = secrets or {}
    services: dict[str, ServiceConfig] = {}
    templates: dict[str, dict[str, Any]] = {}
    triggers: dict[str, Trigger] = {}
    defaults: tuple[str, ...] = ()
    subs: tuple[Subscription, ...] = ()
    context: dict[str, str] = {}
    svc_defaults: dict[str, tuple[str, ...]] = {}
    for key in sorted(data):
        text = data[key]
        if not isinstance(text, str):
            raise _err(key, "ConfigMap values are strings")
        if key.startswith("service."):
            svc = _service(key, text, secrets)
            services[svc.name] = svc
        elif key.startswith("template."):
            templates[key.split(".", 1)[1]] = _template(key, text)
        elif key.startswith("trigger."):
            trig = _trigger(key, text)
            triggers[trig.name] = trig
        elif key == "defaultTriggers":
            defaults = _str_list(key, _yaml(key, text))
        elif key.startswith("defaultTriggers."):
            svc_defaults[key.split(".", 1)[1]] = _str_list(key, _yaml(key, text))
        elif key == "subscriptions":
            subs = _subscriptions(key, text)
        elif key == "context":
            raw = _yaml(key, text) or {}
            if not isinstance(raw, dict):
                raise _err(key, "context is a mapping")
            context = {str(k): str(v) for k, v in raw.items()}
    for name, trig in triggers.items():
        for cond in trig.conditions:
            for tmpl in cond.send:
                if tmpl not in templates and tmpl not in _builtin_templates():
                    raise _err(f"trigger.{name}", f"sends template {tmpl!r}, which is not defined")
    named = _template_secrets(templates, secrets)
    if named:
        services = {k: replace(v, secret_values=(*v.secret_values, *named))
                    for k, v in services.items()}  # fmt: skip
    return NotifyConfig(services, templates, triggers, defaults, subs, context, svc_defaults,
                        dict(secrets))  # fmt: skip


_TEMPLATE_SECRET = re.compile(r"\.secrets\.([A-Za-z0-9_]+)|index\s+\.secrets\s+\"([^\"]+)\"")


def _template_secrets(templates: Mapping[str, Any], secrets: Mapping[str, str]) -> tuple[str, ...]:
    """The secret values the templates name, to mask."""

    def strings(v: Any) -> list[str]:
        if isinstance(v, str):
            return [v]
        if isinstance(v, Mapping):
            return [s for x in v.values() for s in strings(x)]
        if isinstance(v, list):
            return [s for x in v for s in strings(x)]
        return []

    keys = {a or b for t in strings(dict(templates)) for a, b in _TEMPLATE_SECRET.findall(t)}
    return tuple(sorted(secrets[k] for k in keys if secrets.get(k)))


def _builtin_templates() -> Mapping[str, Any]:
    from shipway.notify.catalog import TEMPLATES

    return TEMPLATES
