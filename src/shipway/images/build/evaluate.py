"""The instruction evaluator: walks a stage and produces its config and layer stack.

Config-only instructions go to ``instructions.apply_config`` (a history entry
marked ``empty_layer``); COPY and ADD make native layers (``layers``) through
the ``LayerCache``; RUN goes to buildah (``run``), cached by the stack and the
command. Stages are evaluated on demand, so ``FROM <stage>`` and ``COPY
--from`` build only what they need; a base image's ONBUILD triggers run after
its FROM. Touches the context (read), the store, the registry (FROM images)
and buildah (RUN). Whose files they are (USER, ``--chown``) is ``owners``'.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from shipway.images import oci
from shipway.images.build import ignore as ignore_mod
from shipway.images.build import layers as L
from shipway.images.build import owners, rootfs
from shipway.images.build.cache import LayerCache
from shipway.images.build.dockerfile import (
    Dockerfile,
    Instruction,
    Stage,
    UnsetVariableError,
    expand,
    parse_instruction,
    split_words,
)
from shipway.images.build.instructions import (
    ImageState,
    apply_config,
    command,
    oci_layer,
    parse_arg,
    rfc3339,
)
from shipway.images.build.run import run_step
from shipway.images.reference import parse as parse_ref
from shipway.images.store import Store
from shipway.images.transfer import client_for, copy_blobs, resolve_pull
from shipway.model.errors import InputError

Log = Callable[[str], None]
#: The PATH BuildKit and buildah give an image that has none.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_COPY_FLAGS = {"from", "chown", "chmod", "link"}  # --link: layers are independent anyway
# The automatic platform ARGs of BuildKit (this builder makes linux/amd64 images).
PLATFORM_ARGS = {
    "TARGETPLATFORM": "linux/amd64",
    "TARGETOS": "linux",
    "TARGETARCH": "amd64",
    "TARGETVARIANT": "",
    "BUILDPLATFORM": "linux/amd64",
    "BUILDOS": "linux",
    "BUILDARCH": "amd64",
    "BUILDVARIANT": "",
}


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
        ignore_text: str = "",
        buildah_env: Mapping[str, str] | None = None,
        no_cache: bool = False,
    ) -> None:
        self.buildah_env = buildah_env
        self.context, self.df, self.build_args = context, dockerfile, build_args
        self.store, self.epoch, self.insecure, self.log = store, epoch, insecure, on_line
        self.cache = LayerCache(store.cache_dir, store.layout, read=not no_cache)
        self.created = rfc3339(epoch)
        self.rules = ignore_mod.parse(ignore_text)
        self._states: dict[int, ImageState] = {}
        self._building: list[Stage] = []  # stages being evaluated, to refuse a cycle
        self.global_args: dict[str, str] = {}
        for ins in dockerfile.global_args:
            name, default = parse_arg(ins)
            value = build_args.get(
                name, default if default is not None else PLATFORM_ARGS.get(name)
            )
            if value is not None:
                with self.at(ins.line):
                    self.global_args[name] = expand(value, self.global_args)
        self.layers_built = 0
        self.layers_cached = 0
        self._paths: dict[tuple[str, ...], frozenset[str]] = {}

    def where(self, ins: Instruction | int) -> str:
        return f"{self.df.file}:{ins if isinstance(ins, int) else ins.line}"

    @contextmanager
    def at(self, ins: Instruction | int) -> Iterator[None]:
        """Give an ``UnsetVariableError`` (``${VAR:?message}``) the instruction's file:line."""
        try:
            yield
        except UnsetVariableError as exc:
            if exc.subject is not None:
                raise
            raise InputError(exc.message, subject=self.where(ins)) from None

    def _ignored(self, rel: str) -> bool:
        return ignore_mod.excluded(self.rules, rel)

    # -- stages --------------------------------------------------------------
    def stage_state(self, stage: Stage, where: str = "") -> ImageState:
        if stage.index not in self._states:
            if stage in self._building:
                raise InputError(
                    f"circular dependency detected on stage: {stage.name or stage.index}",
                    subject=where or self.where(stage.line),
                )
            self._building.append(stage)
            try:
                with self.at(stage.line):
                    st = self._from(stage)
                for ins in stage.instructions:
                    self.log(f"[{stage.index}] {ins.original}")
                    with self.at(ins):
                        self._apply(st, ins)
            finally:
                self._building.remove(stage)
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
            return self.stage_state(prior).child()
        if base == "scratch":
            return ImageState(config={"Env": [f"PATH={DEFAULT_PATH}"]}, base="scratch")
        st = self._image_state(base, self.where(stage.line))
        if not any(e.startswith("PATH=") for e in st.config.get("Env") or []):
            st.set_env("PATH", DEFAULT_PATH)  # as BuildKit and buildah give an image with none
        triggers = st.config.pop("OnBuild", None) or []
        for text in triggers:
            ins = parse_instruction(text, stage.line, self.df.file)
            self.log(f"[{stage.index}] ONBUILD {ins.original}")
            self._apply(st, ins)
        return st

    def _image_state(self, name: str, where: str) -> ImageState:
        ref = parse_ref(name)
        if ref.oci_dir is not None:
            src = Store.for_layout(Path(ref.oci_dir), self.store.root)
            desc = src.layout.resolve(ref.tag or "latest")
            digest = str(desc["digest"])
            copy_blobs(src, self.store, digest)
            manifest = self.store.layout.read_json(digest)
        else:
            with client_for(ref, self.insecure) as client:
                digest, manifest = resolve_pull(client, ref, self.store, on_line=self.log)
        if "manifests" in manifest:
            child = oci.pick_platform(manifest)
            if child is None:
                raise InputError("no linux/amd64 image in the index", subject=where)
            manifest = self.store.layout.read_json(child)
        cfg = self.store.layout.read_json(manifest["config"]["digest"])
        return ImageState(
            config=dict(cfg.get("config") or {}),
            layers=[oci_layer(d) for d in manifest.get("layers", [])],
            diff_ids=list((cfg.get("rootfs") or {}).get("diff_ids") or []),
            history=list(cfg.get("history") or []),
            base=f"{ref}@{digest}",
        )

    # -- instructions ----------------------------------------------------------
    def _apply(self, st: ImageState, ins: Instruction) -> None:
        if ins.cmd == "ARG":
            self._arg(st, ins)
            made = False
        elif ins.cmd in ("COPY", "ADD"):
            try:
                made = self._copy(st, ins)
            except OSError as exc:  # a file vanished or is unreadable mid-build
                raise InputError(
                    f"cannot read {exc.filename}: {exc.strerror}", subject=self.where(ins)
                ) from exc
        elif ins.cmd == "RUN":
            made = self._run(st, ins)
        elif ins.cmd == "WORKDIR":
            apply_config(st, ins, self.df.file)
            made = self._workdir(st, ins)
        elif apply_config(st, ins, self.df.file):
            made = False
        else:
            raise InputError(f"{ins.cmd} is not supported here", subject=self.where(ins))
        if not made:
            st.history.append(
                {"created": self.created, "created_by": ins.original, "empty_layer": True}
            )

    def _arg(self, st: ImageState, ins: Instruction) -> None:
        for word in split_words(ins.rest) if "=" not in ins.rest else [ins.rest]:
            one = Instruction("ARG", word, ins.line)
            name, default = parse_arg(one)
            if name in self.build_args:
                st.args[name] = self.build_args[name]
            elif default is not None:
                st.args[name] = expand(default, st.env())
            elif name in self.global_args:
                st.args[name] = self.global_args[name]
            elif name in PLATFORM_ARGS:
                st.args[name] = PLATFORM_ARGS[name]

    def _add_layer(self, st: ImageState, layer: L.Layer, ins: Instruction) -> bool:
        st.layers.append(
            {"mediaType": oci.OCI_LAYER_GZIP, "digest": layer.digest, "size": layer.size}
        )
        st.diff_ids.append(layer.diff_id)
        st.history.append({"created": self.created, "created_by": ins.original})
        return True

    def _run(self, st: ImageState, ins: Instruction) -> bool:
        where = self.where(ins)
        mounts: list[str] = []
        for flag, value in ins.flags.items():
            if flag == "mount":
                mounts += [self._mount(m, where) for m in value.split("\n")]
            elif not (flag == "network" and value in ("host", "default")):
                raise InputError(f"RUN --{flag} is not supported", subject=where)
        argv = _heredoc_command(st, ins) if ins.heredocs else command(st, ins)
        if not argv:
            raise InputError("RUN needs a command", subject=where)
        env = st.env()
        workdir = st.config.get("WorkingDir") or ""
        user = st.config.get("User") or ""
        key = hashlib.sha256(
            json.dumps([st.diff_ids, argv, sorted(env.items()), workdir, user, mounts]).encode()
        ).hexdigest()
        layer = self.cache.get("run", key)
        if layer is None:
            layer = run_step(
                self.store,
                layers=st.layers,
                diff_ids=st.diff_ids,
                argv=argv,
                env=env,
                workdir=workdir,
                user=user,
                where=where,
                log=self.log,
                buildah_env=self.buildah_env,
                mounts=mounts,
            )
            self.cache.put("run", key, layer)
            self.layers_built += 1
        else:
            self.layers_cached += 1
            self.log(f"  cached {layer.digest[:19]}")
        return self._add_layer(st, layer, ins)

    def _mount(self, spec: str, where: str) -> str:
        """``RUN --mount``: cache and tmpfs pass to buildah; bind reads the context only."""
        opts = dict(p.partition("=")[::2] for p in spec.split(",") if p)
        kind = opts.get("type", "bind")
        if kind in ("cache", "tmpfs"):
            return spec
        if kind != "bind" or "from" in opts:
            raise InputError(f"RUN --mount type={kind} is not supported", subject=where)
        src = opts.pop("source", opts.pop("src", "."))
        path = L.resolve_sources(self.context, [src], where)[0]
        L.check_source(os.path.realpath(self.context), str(path),
                       self._ignored if self.rules else None, where)  # fmt: skip
        target = opts.pop("target", opts.pop("dst", opts.pop("destination", "")))
        if not target:
            raise InputError("RUN --mount type=bind needs a target", subject=where)
        opts.pop("type", None)
        rw = opts.pop("rw", opts.pop("readwrite", None))
        extra = "".join(f",{k}={v}" if v else f",{k}" for k, v in opts.items() if k != "ro")
        return f"type=bind,src={path},target={target}" + ("" if rw else ",ro") + extra

    def _copy(self, st: ImageState, ins: Instruction) -> bool:
        where = self.where(ins)
        unknown = set(ins.flags) - _COPY_FLAGS
        if unknown:
            raise InputError(f"{ins.cmd} --{sorted(unknown)[0]} is not supported", subject=where)
        words = ins.json_args if ins.json_args is not None else split_words(ins.rest)
        words = [expand(w, st.env()) for w in words]
        if len(words) < 2:
            raise InputError(f"{ins.cmd} needs a source and a destination", subject=where)
        *srcs, dest = words
        workdir = st.config.get("WorkingDir") or "/"
        dest_abs = posixpath.normpath(posixpath.join(workdir, dest))
        dest_is_dir = dest.endswith("/") or len(srcs) > 1 or dest in (".", "./")
        owner = self._owner(st, ins, where)
        if ins.heredocs:
            return self._copy_heredocs(st, ins, srcs, dest_abs, dest_is_dir, owner)
        if "from" in ins.flags:
            root = self._stage_root(expand(ins.flags["from"], st.env()), ins, where)
            sources = [self._from_source(root, s, where) for s in srcs]
            entries = L.collect(root, sources, dest_abs, dest_is_dir or len(sources) > 1)
            entries = self._new_dirs_only(st, entries)
            return self._add_layer(st, self._layer(entries, owner), ins)
        if ins.cmd == "ADD" and any(s.startswith(("http://", "https://")) for s in srcs):
            raise InputError("ADD from a URL is not supported; use RUN or COPY", subject=where)
        sources = L.resolve_sources(self.context, srcs, where)
        for src in sources:
            L.check_source(os.path.realpath(self.context), str(src),
                           self._ignored if self.rules else None, where)  # fmt: skip
        if ins.cmd == "ADD" and len(sources) == 1 and rootfs.is_archive(sources[0]):
            layer = self._add_archive(st, sources[0], dest_abs, owner, where)
            return self._add_layer(st, layer, ins)
        entries = L.collect(
            self.context,
            sources,
            dest_abs,
            dest_is_dir or len(sources) > 1,
            self._ignored if self.rules else None,
            where,
            context_links=True,
        )
        entries = self._new_dirs_only(st, entries)
        return self._add_layer(st, self._layer(entries, owner), ins)

    def _copy_heredocs(
        self,
        st: ImageState,
        ins: Instruction,
        srcs: list[str],
        dest: str,
        is_dir: bool,
        owner: L.Owner,
    ) -> bool:
        """``COPY <<NAME /dest``: each heredoc becomes a file named NAME."""
        bodies = dict(ins.heredocs)
        work = self.store.root / "tmp"
        work.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            paths = []
            for src in srcs:
                name = src.lstrip("<-").strip("\"'")
                if name not in bodies:
                    raise InputError(
                        f"{ins.cmd} <<NAME mixed with files is not supported",
                        subject=self.where(ins),
                    )
                path = Path(tmp) / name
                path.write_text(bodies[name])
                path.chmod(0o644)
                paths.append(path)
            entries = L.collect(Path(tmp), paths, dest, is_dir or len(paths) > 1)
            entries = self._new_dirs_only(st, entries)
            return self._add_layer(st, self._layer(entries, owner, content_key=True), ins)

    def _workdir(self, st: ImageState, ins: Instruction) -> bool:
        """WORKDIR makes its directory when missing (and missing parents), 0755, owned by the
        current USER, as BuildKit does; False when it already exists (no layer)."""
        where = self.where(ins)
        root = self._rootfs(st, where)
        parts = [p for p in str(st.config["WorkingDir"]).split("/") if p]
        missing: list[L.Entry] = []
        for i in range(1, len(parts) + 1):
            rel = "/".join(parts[:i])
            if missing or not os.path.isdir(rootfs.scoped(root, rel, where)):
                missing.append(L.Entry(rel, None, None))
        if not missing:
            return False
        uid, gid = self._user_ids(st, where)
        layer = self._layer(missing, L.Owner(uid, gid, None, self.epoch), content_key=True)
        return self._add_layer(st, layer, ins)

    def _user_ids(self, st: ImageState, where: str) -> tuple[int, int]:
        """The uid and gid of the image's USER (``name``, ``uid``, ``name:group``, ``uid:gid``)."""
        user = str(st.config.get("User") or "")
        if not user:
            return 0, 0
        return owners.resolve(user, lambda: self._rootfs(st, where), where, "USER",
                              gid_of_uid=True)  # fmt: skip

    def _rootfs(self, st: ImageState, where: str) -> Path:
        return rootfs.unpack_stack(
            self.store.layout, st.layers, st.diff_ids, self.store.root / "rootfs", where
        )

    def _stage_root(self, name: str, ins: Instruction, where: str) -> Path:
        stage = self._named_stage(name, len(self.df.stages))
        src = (
            self.stage_state(stage, where) if stage is not None else self._image_state(name, where)
        )
        cache_root = self.store.root / "rootfs"
        return rootfs.unpack_stack(self.store.layout, src.layers, src.diff_ids, cache_root, where)

    def _from_source(self, root: Path, src: str, where: str) -> Path:
        rel = posixpath.normpath("/" + src).lstrip("/")
        path = rootfs.scoped(root, rel, where)
        if not os.path.lexists(path):
            raise InputError(f"{src!r} not found in the source stage", subject=where)
        return path

    def _new_dirs_only(self, st: ImageState, entries: list[L.Entry]) -> list[L.Entry]:
        """Drop the directories made for a destination that the image already has.

        Docker and BuildKit create only the missing parents (0755, owned as the
        ``--chown`` says); one that exists keeps its owner and mode (or stays a
        symlink), so the layer must not carry an entry for it.
        """
        have = rootfs.stack_paths(self.store.layout, st.layers, self._paths)
        return [e for e in entries if e.src is not None or e.name not in have]

    def _add_archive(
        self, st: ImageState, archive: Path, dest: str, owner: L.Owner, where: str
    ) -> L.Layer:
        have = rootfs.stack_paths(self.store.layout, st.layers, self._paths)
        kept = [p for p in L.parent_names(dest) if p in have]
        marker = L.Entry(f"add-archive:{dest}:{kept}", archive, os.stat(archive))
        skey = L.stat_key([marker], owner)
        hit = self.cache.by_stat(skey)
        if hit is not None:
            self.layers_cached += 1
            return hit
        work = self.store.root / "tmp"
        work.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=work) as tmp, tarfile.open(archive, "r:*") as tar:
            rootfs.unpack_tar(tar, Path(tmp), where, whiteouts=False)
            entries = L.collect(Path(tmp), [Path(tmp)], dest, True)
            entries = [e for e in entries if e.src is not None or e.name not in kept]
            layer = L.write_layer(entries, owner, self.store.layout)
        self.layers_built += 1
        self.cache.remember(layer, skey)
        return layer

    def _owner(self, st: ImageState, ins: Instruction, where: str) -> L.Owner:
        uid = gid = 0
        chown = expand(ins.flags.get("chown", ""), st.env())
        if chown:
            uid, gid = owners.resolve(chown, lambda: self._rootfs(st, where), where, "--chown",
                                      gid_of_uid=False)  # fmt: skip
        mode = None
        chmod = ins.flags.get("chmod")
        if chmod:
            try:
                mode = int(chmod, 8)
            except ValueError:
                raise InputError(f"--chmod {chmod!r} is not octal", subject=where) from None
        return L.Owner(uid, gid, mode, self.epoch)

    def _layer(self, entries: list[L.Entry], owner: L.Owner, content_key: bool = False) -> L.Layer:
        """The layer of ``entries``: by stat fingerprint, else by diff_id, else written.

        ``content_key``: files made for this build (heredocs) skip the stat path.
        """
        skey = None if content_key else L.stat_key(entries, owner)
        hit = self.cache.by_stat(skey) if skey else None
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


def _heredoc_command(st: ImageState, ins: Instruction) -> list[str]:
    """``RUN <<EOF`` runs the heredoc as the script; otherwise the shell reads it."""
    shell = st.config.get("Shell") or ["/bin/sh", "-c"]
    name, body = ins.heredocs[0]
    if len(ins.heredocs) == 1 and ins.rest.strip().lstrip("<-").strip("\"'") == name:
        return [*shell, body]
    text = ins.rest + "\n" + "".join(f"{b}{n}\n" for n, b in ins.heredocs)
    return [*shell, text]
