"""The instruction evaluator: walks a stage and produces its config and layer stack.

Config instructions change the image config (with a history entry marked
``empty_layer``); COPY and ADD make native layers through ``layers`` and the
``LayerCache``; RUN is delegated to ``run_step`` (buildah). Stages are evaluated
on demand, so ``FROM <stage>`` and ``COPY --from`` build only what they need.
Touches the context (read), the store (write) and, for ``FROM`` images, the
registry through ``transfer``.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.images import oci
from shipway.images.build import layers as L
from shipway.images.build.cache import LayerCache
from shipway.images.build.dockerfile import (
    Dockerfile,
    Instruction,
    Stage,
    expand,
    key_values,
    split_words,
)
from shipway.images.reference import parse as parse_ref
from shipway.images.store import Store
from shipway.images.transfer import client_for, resolve_pull
from shipway.model.errors import InputError

Log = Callable[[str], None]


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
        out = dict(self.args)
        for item in self.config.get("Env") or []:
            k, _, v = item.partition("=")
            out[k] = v
        return out

    def set_env(self, key: str, value: str) -> None:
        env = [e for e in self.config.get("Env") or [] if e.partition("=")[0] != key]
        self.config["Env"] = [*env, f"{key}={value}"]


class Evaluator:
    def __init__(
        self,
        context: Path,
        dockerfile: Dockerfile,
        *,
        build_args: dict[str, str],
        store: Store,
        epoch: int,
        insecure: bool | None,
        on_line: Log,
    ) -> None:
        self.context, self.df, self.build_args = context, dockerfile, build_args
        self.store, self.epoch, self.insecure, self.log = store, epoch, insecure, on_line
        self.cache = LayerCache(store.cache_dir, store.layout)
        self.created = _rfc3339(epoch)
        self._states: dict[int, ImageState] = {}
        self.global_args: dict[str, str] = {}
        for ins in dockerfile.global_args:
            name, default = _arg(ins)
            value = build_args.get(name, default)
            if value is not None:
                self.global_args[name] = expand(value, self.global_args)
        self.layers_built = 0
        self.layers_cached = 0

    def where(self, ins: Instruction | int) -> str:
        line = ins if isinstance(ins, int) else ins.line
        return f"{self.df.file}:{line}"

    # -- stages ----------------------------------------------------------------
    def stage_state(self, stage: Stage) -> ImageState:
        if stage.index not in self._states:
            st = self._from(stage)
            for ins in stage.instructions:
                self.log(f"[{stage.index}] {ins.original}")
                self._apply(st, ins)
            self._states[stage.index] = st
        return self._states[stage.index]

    def _named_stage(self, name: str, before: int) -> Stage | None:
        for st in self.df.stages[:before]:
            if st.name == name.lower() or (name.isdigit() and st.index == int(name)):
                return st
        return None

    def _from(self, stage: Stage) -> ImageState:
        base = expand(stage.base, self.global_args)
        self.log(f"[{stage.index}] FROM {base}")
        prior = self._named_stage(base, stage.index)
        if prior is not None:
            st = copy.deepcopy(self.stage_state(prior))
            st.args, st.cmd_set = {}, False
            return st
        if base == "scratch":
            return ImageState(config={}, base="scratch")
        ref = parse_ref(base)
        if ref.oci_dir is not None:
            raise InputError("FROM oci:DIR is not supported yet", subject=self.where(stage.line))
        with client_for(ref, self.insecure) as client:
            digest, manifest = resolve_pull(client, ref, self.store, on_line=self.log)
        cfg = self.store.layout.read_json(manifest["config"]["digest"])
        layers = [dict(_oci_layer(d)) for d in manifest.get("layers", [])]
        return ImageState(
            config=dict(cfg.get("config") or {}),
            layers=layers,
            diff_ids=list((cfg.get("rootfs") or {}).get("diff_ids") or []),
            history=list(cfg.get("history") or []),
            base=f"{ref.name}@{digest}",
        )

    # -- instructions ------------------------------------------------------------
    def _apply(self, st: ImageState, ins: Instruction) -> None:
        handler = getattr(self, f"_i_{ins.cmd.lower()}", None)
        if handler is None:
            raise InputError(f"{ins.cmd} is not supported yet", subject=self.where(ins))
        made_layer = handler(st, ins)
        if not made_layer:
            st.history.append(
                {"created": self.created, "created_by": ins.original, "empty_layer": True}
            )

    def _x(self, st: ImageState, text: str) -> str:
        return expand(text, st.env())

    def _i_arg(self, st: ImageState, ins: Instruction) -> bool:
        name, default = _arg(ins)
        if name in self.build_args:
            st.args[name] = self.build_args[name]
        elif default is not None:
            st.args[name] = self._x(st, default)
        elif name in self.global_args:
            st.args[name] = self.global_args[name]
        return False

    def _i_env(self, st: ImageState, ins: Instruction) -> bool:
        text = self._x(st, ins.rest)
        for k, v in key_values(text, "ENV", self.df.file, ins.line):
            st.set_env(k, v)
        return False

    def _i_label(self, st: ImageState, ins: Instruction) -> bool:
        labels = dict(st.config.get("Labels") or {})
        for k, v in key_values(self._x(st, ins.rest), "LABEL", self.df.file, ins.line):
            labels[k] = v
        st.config["Labels"] = labels
        return False

    def _i_maintainer(self, st: ImageState, ins: Instruction) -> bool:
        st.config["Labels"] = {**(st.config.get("Labels") or {}), "maintainer": ins.rest}
        return False

    def _i_workdir(self, st: ImageState, ins: Instruction) -> bool:
        path = self._x(st, ins.rest)
        st.config["WorkingDir"] = os.path.normpath(
            os.path.join(st.config.get("WorkingDir") or "/", path)
        )
        return False

    def _i_user(self, st: ImageState, ins: Instruction) -> bool:
        st.config["User"] = self._x(st, ins.rest)
        return False

    def _i_expose(self, st: ImageState, ins: Instruction) -> bool:
        ports = dict(st.config.get("ExposedPorts") or {})
        for p in split_words(self._x(st, ins.rest)):
            ports[p if "/" in p else f"{p}/tcp"] = {}
        st.config["ExposedPorts"] = ports
        return False

    def _i_volume(self, st: ImageState, ins: Instruction) -> bool:
        vols = dict(st.config.get("Volumes") or {})
        for v in ins.json_args or split_words(self._x(st, ins.rest)):
            vols[v] = {}
        st.config["Volumes"] = vols
        return False

    def _i_stopsignal(self, st: ImageState, ins: Instruction) -> bool:
        st.config["StopSignal"] = self._x(st, ins.rest)
        return False

    def _i_shell(self, st: ImageState, ins: Instruction) -> bool:
        st.config["Shell"] = ins.json_args
        return False

    def _command(self, st: ImageState, ins: Instruction) -> list[str] | None:
        if ins.json_args is not None:
            return ins.json_args
        if not ins.rest:
            return None
        return [*(st.config.get("Shell") or ["/bin/sh", "-c"]), ins.rest]

    def _i_cmd(self, st: ImageState, ins: Instruction) -> bool:
        st.config["Cmd"] = self._command(st, ins)
        st.cmd_set = True
        return False

    def _i_entrypoint(self, st: ImageState, ins: Instruction) -> bool:
        st.config["Entrypoint"] = self._command(st, ins)
        if not st.cmd_set:
            st.config.pop("Cmd", None)  # Docker: a new ENTRYPOINT drops the base's CMD
        return False

    def _i_copy(self, st: ImageState, ins: Instruction) -> bool:
        return self._copy(st, ins)

    def _i_add(self, st: ImageState, ins: Instruction) -> bool:
        return self._copy(st, ins)

    def _copy(self, st: ImageState, ins: Instruction) -> bool:
        where = self.where(ins)
        words = ins.json_args if ins.json_args is not None else split_words(ins.rest)
        words = [self._x(st, w) for w in words]
        if len(words) < 2:
            raise InputError(f"{ins.cmd} needs a source and a destination", subject=where)
        if "from" in ins.flags:
            raise InputError("COPY --from is not supported yet", subject=where)
        *srcs, dest = words
        if any(s.startswith(("http://", "https://")) for s in srcs):
            raise InputError("ADD from a URL is not supported yet", subject=where)
        workdir = st.config.get("WorkingDir") or "/"
        dest_is_dir = dest.endswith("/") or len(srcs) > 1 or dest in (".", "./")
        dest_abs = os.path.normpath(os.path.join(workdir, dest))
        sources = L.resolve_sources(self.context, srcs, where)
        dest_is_dir = dest_is_dir or len(sources) > 1
        owner = self._owner(ins, where)
        entries = L.collect(self.context, sources, dest_abs, dest_is_dir)
        layer = self._layer(entries, owner)
        st.layers.append(
            {"mediaType": oci.OCI_LAYER_GZIP, "digest": layer.digest, "size": layer.size}
        )
        st.diff_ids.append(layer.diff_id)
        st.history.append({"created": self.created, "created_by": ins.original})
        return True

    def _owner(self, ins: Instruction, where: str) -> L.Owner:
        uid = gid = 0
        chown = ins.flags.get("chown")
        if chown:
            u, _, g = chown.partition(":")
            if not u.isdigit() or (g and not g.isdigit()):
                raise InputError("--chown takes numeric UID[:GID] for now", subject=where)
            uid, gid = int(u), int(g or u)
        chmod = ins.flags.get("chmod")
        mode = None
        if chmod:
            try:
                mode = int(chmod, 8)
            except ValueError:
                raise InputError(f"--chmod {chmod!r} is not octal", subject=where) from None
        return L.Owner(uid, gid, mode, self.epoch)

    def _layer(self, entries: list[L.Entry], owner: L.Owner) -> L.Layer:
        skey = L.stat_key(entries, owner)
        hit = self.cache.by_stat(skey)
        if hit is not None:
            self.layers_cached += 1
            self.log(f"  cached {hit.digest[:19]}")
            return hit
        diff_id = L.tar_digest(entries, owner)
        hit = self.cache.by_diff_id(diff_id)
        if hit is None:
            hit = L.write_layer(entries, owner, self.store.layout)
            self.layers_built += 1
            self.log(f"  layer {hit.digest[:19]} ({hit.size} bytes)")
        else:
            self.layers_cached += 1
        self.cache.remember(hit, skey)
        return hit

    # -- result ---------------------------------------------------------------
    def image_config(self, st: ImageState, labels: dict[str, str]) -> dict[str, Any]:
        cfg = copy.deepcopy(st.config)
        if labels:
            cfg["Labels"] = {**(cfg.get("Labels") or {}), **labels}
        cfg = {k: v for k, v in cfg.items() if v not in (None, {}, [])}
        return {
            "created": self.created,
            "architecture": "amd64",
            "os": "linux",
            "config": cfg,
            "rootfs": {"type": "layers", "diff_ids": st.diff_ids},
            "history": st.history,
        }


def _arg(ins: Instruction) -> tuple[str, str | None]:
    name, eq, default = ins.rest.strip().partition("=")
    return name.strip(), (default.strip().strip('"') if eq else None)


def _oci_layer(desc: dict[str, Any]) -> dict[str, Any]:
    mt = desc.get("mediaType")
    if mt == oci.DOCKER_LAYER_GZIP:
        mt = oci.OCI_LAYER_GZIP
    return {"mediaType": mt, "digest": desc["digest"], "size": desc["size"]}


def _rfc3339(epoch: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def manifest_for(config_digest: str, config_size: int, st: ImageState) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_MANIFEST,
        "config": {"mediaType": oci.OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": st.layers,
    }
    return json.dumps(doc, separators=(",", ":")).encode()
