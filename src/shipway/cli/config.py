"""The CLI's own config file: the controllers it is logged in to (``shipway login``).

``$SHIPWAY_CONFIG``, else ``$XDG_CONFIG_HOME/shipway/config.yaml`` (default
``~/.config/shipway/config.yaml``), shaped like Argo CD's CLI config:
``current-context`` and a list of ``contexts`` (``name``, ``server``,
``user``, ``auth-token``, ``insecure``, ``server-crt``, and as in kubectl's
contexts an optional ``namespace``: the current namespace). It holds tokens, so
it is written with mode 0600 (its directory 0700), replaced atomically.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shipway.model.errors import InputError


def path() -> Path:
    env = os.environ.get("SHIPWAY_CONFIG")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "shipway" / "config.yaml"


@dataclass
class Context:
    """One ``shipway login`` context: a controller, its user and token."""

    name: str
    server: str
    user: str = ""
    auth_token: str = ""
    insecure: bool = False
    server_crt: str = ""
    namespace: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = {k.replace("_", "-"): v for k, v in asdict(self).items()}
        if not self.namespace:
            del out["namespace"]
        return out


@dataclass
class Config:
    """The CLI config file: its contexts and the current one."""

    current: str = ""
    contexts: list[Context] = field(default_factory=list)

    def find(self, name_or_server: str) -> Context | None:
        for c in self.contexts:
            if name_or_server in (c.name, c.server):
                return c
        return None

    def current_context(self) -> Context | None:
        return self.find(self.current) if self.current else None

    def put(self, ctx: Context) -> None:
        self.contexts = [c for c in self.contexts if c.name != ctx.name] + [ctx]
        self.current = ctx.name

    def remove(self, name: str) -> Context | None:
        found = self.find(name)
        if found is not None:
            self.contexts = [c for c in self.contexts if c is not found]
            if self.current == found.name:
                self.current = ""
        return found


def load() -> Config:
    p = path()
    if not p.is_file():
        return Config()
    import yaml  # loads only when there is a config file

    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"not YAML: {exc}", file=str(p)) from None
    if not isinstance(data, dict):
        raise InputError("expected a mapping", file=str(p))
    contexts = []
    for item in data.get("contexts") or []:
        if not isinstance(item, dict) or not item.get("name") or not item.get("server"):
            raise InputError("each context needs a name and a server", file=str(p))
        contexts.append(Context(name=str(item["name"]), server=str(item["server"]),
                                user=str(item.get("user") or ""),
                                auth_token=str(item.get("auth-token") or ""),
                                insecure=bool(item.get("insecure")),
                                server_crt=str(item.get("server-crt") or ""),
                                namespace=str(item.get("namespace") or "")))  # fmt: skip
    return Config(current=str(data.get("current-context") or ""), contexts=contexts)


def save(cfg: Config) -> Path:
    p = path()
    import yaml

    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = yaml.safe_dump(
        {"current-context": cfg.current, "contexts": [c.to_dict() for c in cfg.contexts]},
        sort_keys=False,
    )
    tmp = p.with_name(p.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, p)
    return p
