"""Instructions that only change the image config, and the image state they change.

Pure: ``ImageState`` and ``apply_config`` take data and return data. Covers ENV,
LABEL, MAINTAINER, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL, SHELL, CMD,
ENTRYPOINT, HEALTHCHECK and ONBUILD with Docker's semantics (a new ENTRYPOINT
drops an inherited CMD; shell forms use SHELL; HEALTHCHECK durations in ns).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from shipway.images import oci
from shipway.images.build.dockerfile import Instruction, expand, key_values, split_words
from shipway.model.errors import InputError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}


@dataclass
class ImageState:
    config: dict[str, Any] = field(default_factory=dict)
    layers: list[dict[str, Any]] = field(default_factory=list)
    diff_ids: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)
    cmd_set: bool = False
    base: str = "scratch"

    def env(self) -> dict[str, str]:
        """What variables expand to: stage ARGs, overridden by ENV."""
        out = dict(self.args)
        for item in self.config.get("Env") or []:
            k, _, v = item.partition("=")
            out[k] = v
        return out

    def set_env(self, key: str, value: str) -> None:
        """Set ``key``: in place when it is already set (as Docker does), else appended."""
        env = list(self.config.get("Env") or [])
        item = f"{key}={value}"
        for i, e in enumerate(env):
            if e.partition("=")[0] == key:
                env[i] = item
                break
        else:
            env.append(item)
        self.config["Env"] = env

    def child(self) -> ImageState:
        """A copy for ``FROM <stage>``: same filesystem and config, fresh ARGs."""
        out = copy.deepcopy(self)
        out.args, out.cmd_set = {}, False
        return out


def command(st: ImageState, ins: Instruction) -> list[str] | None:
    """Exec form as is; shell form wrapped in SHELL (default ``/bin/sh -c``)."""
    if ins.json_args is not None:
        return ins.json_args
    if not ins.rest:
        return None
    return [*(st.config.get("Shell") or ["/bin/sh", "-c"]), ins.rest]


def duration_ns(text: str, where: str) -> int:
    pos, total = 0, 0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += int(float(m.group(1)) * _UNIT_NS[m.group(2)])
        pos = m.end()
    if pos != len(text) or not text:
        raise InputError(f"bad duration {text!r}", subject=where)
    return total


def _healthcheck(st: ImageState, ins: Instruction, where: str) -> dict[str, Any]:
    words = ins.rest.split(None, 1)
    kind = words[0].upper() if words else ""
    if kind == "NONE":
        return {"Test": ["NONE"]}
    if kind != "CMD" or len(words) < 2:
        raise InputError("HEALTHCHECK takes [OPTIONS] CMD command, or NONE", subject=where)
    rest = words[1].strip()
    try:
        parsed = json.loads(rest) if rest.startswith("[") else None
    except ValueError:
        parsed = None
    test = ["CMD", *parsed] if isinstance(parsed, list) else ["CMD-SHELL", rest]
    hc: dict[str, Any] = {"Test": test}
    names = {
        "interval": "Interval",
        "timeout": "Timeout",
        "start-period": "StartPeriod",
        "start-interval": "StartInterval",
    }
    for flag, value in ins.flags.items():
        if flag in names:
            hc[names[flag]] = duration_ns(value, where)
        elif flag == "retries":
            if not value.isdigit():
                raise InputError("--retries takes a number", subject=where)
            hc["Retries"] = int(value)
        else:
            raise InputError(f"unknown HEALTHCHECK flag --{flag}", subject=where)
    return hc


_PORT = re.compile(r"^(\d+)(?:-(\d+))?(?:/([A-Za-z]*))?$")


def exposed_ports(spec: str, where: str) -> list[str]:
    """``80``, ``80/udp``, ``8000-8002/tcp`` → ``["8000/tcp", ...]``, as Docker parses them.

    A port that is not a number from 0 to 65535, a backwards range, or a protocol
    other than tcp, udp or sctp is refused, as ``docker build`` refuses it.
    """
    m = _PORT.match(spec)
    if not m:
        port = spec.partition("/")[0]
        raise InputError(f"EXPOSE: invalid containerPort: {port}", subject=where)
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    proto = (m.group(3) or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise InputError(f"EXPOSE: invalid proto: {proto}", subject=where)
    if first > 65535 or last > 65535:
        raise InputError(f"EXPOSE: invalid containerPort: {spec.partition('/')[0]}", subject=where)
    if last < first:
        raise InputError(f"EXPOSE: invalid range specified for containerPort: {spec}",
                         subject=where)  # fmt: skip
    return [f"{n}/{proto}" for n in range(first, last + 1)]


def apply_config(st: ImageState, ins: Instruction, file: str) -> bool:
    """Apply a config-only instruction; False when ``ins`` is not one."""
    where = f"{file}:{ins.line}"
    cfg = st.config
    text = expand(ins.rest, st.env())
    if ins.cmd == "ENV":
        for k, v in key_values(text, "ENV", file, ins.line):
            st.set_env(k, v)
    elif ins.cmd == "LABEL":
        cfg["Labels"] = {
            **(cfg.get("Labels") or {}),
            **dict(key_values(text, "LABEL", file, ins.line)),
        }
    elif ins.cmd == "MAINTAINER":
        cfg["Labels"] = {**(cfg.get("Labels") or {}), "maintainer": ins.rest}
    elif ins.cmd == "WORKDIR":
        cfg["WorkingDir"] = posixpath.normpath(posixpath.join(cfg.get("WorkingDir") or "/", text))
    elif ins.cmd == "USER":
        cfg["User"] = text
    elif ins.cmd == "EXPOSE":
        ports = dict(cfg.get("ExposedPorts") or {})
        for p in split_words(text):
            ports.update({key: {} for key in exposed_ports(p, where)})
        cfg["ExposedPorts"] = ports
    elif ins.cmd == "VOLUME":
        vols = dict(cfg.get("Volumes") or {})
        for v in ins.json_args or split_words(text):
            vols[expand(v, st.env())] = {}
        cfg["Volumes"] = vols
    elif ins.cmd == "STOPSIGNAL":
        cfg["StopSignal"] = text
    elif ins.cmd == "SHELL":
        cfg["Shell"] = ins.json_args
    elif ins.cmd == "CMD":
        cfg["Cmd"] = command(st, ins)
        st.cmd_set = True
    elif ins.cmd == "ENTRYPOINT":
        cfg["Entrypoint"] = command(st, ins)
        if not st.cmd_set:
            cfg.pop("Cmd", None)
    elif ins.cmd == "HEALTHCHECK":
        cfg["Healthcheck"] = _healthcheck(st, ins, where)
    elif ins.cmd == "ONBUILD":
        trigger = ins.rest.split(None, 1)[0].upper() if ins.rest else ""
        if trigger in ("ONBUILD", "FROM", "MAINTAINER"):
            raise InputError(f"ONBUILD {trigger} is not allowed", subject=where)
        cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), ins.rest]
    else:
        return False
    return True


def rfc3339(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def image_config(st: ImageState, labels: dict[str, str], created: str) -> dict[str, Any]:
    cfg = copy.deepcopy(st.config)
    if labels:
        cfg["Labels"] = {**(cfg.get("Labels") or {}), **labels}
    cfg = {k: v for k, v in cfg.items() if v not in (None, {}, [])}
    return {
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": st.diff_ids},
        "history": st.history,
    }


def manifest_for(config_digest: str, config_size: int, st: ImageState) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_MANIFEST,
        "config": {"mediaType": oci.OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": st.layers,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def oci_layer(desc: dict[str, Any]) -> dict[str, Any]:
    """A base image's layer descriptor with Docker media types mapped to OCI ones."""
    mt = desc.get("mediaType")
    if mt == oci.DOCKER_LAYER_GZIP:
        mt = oci.OCI_LAYER_GZIP
    return {"mediaType": mt, "digest": desc["digest"], "size": desc["size"]}


def parse_arg(ins: Instruction) -> tuple[str, str | None]:
    name, eq, default = ins.rest.strip().partition("=")
    return name.strip(), (default.strip().strip('"') if eq else None)
