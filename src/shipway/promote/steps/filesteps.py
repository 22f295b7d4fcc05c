"""copy, delete, yaml-update, json-update, kustomize-set-image and kustomize-build.

Every path is relative to the promotion's work directory. yaml-update sets
existing dotted keys keeping comments and layout (``updater.edit.helm``; a
missing key is an error naming the file and line); json-update walks dotted
keys (a number indexes a list, a missing map key is created, as sjson does)
and keeps the file's indentation. kustomize-set-image edits the
``images:`` of ``path``'s kustomization (``updater.edit.kustomize``); an
image with neither ``tag`` nor ``digest`` takes the target Freight's tag, and
no ``images`` at all sets every image of the target Freight. delete takes
``path`` or ``paths``, as globs with ``pathsAreGlobs`` (``**`` any depth);
``strict`` fails on a path that is missing or a pattern that matches nothing.
kustomize-build runs ``kubectl kustomize`` and writes one file (``outPath``
ending ``.yaml``/``.yml``) or one file per object: ``<kind>-<name>.yaml``
(``outputFormat: kargo``) or ``<group>_<version>_<kind>_<name>.yaml``
(``kustomize``). Outputs: yaml-update, json-update and kustomize-set-image
give ``commitMessage``.
"""

from __future__ import annotations

import json
import re
import shutil
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import yaml

from shipway.deploy.sources import _run_tool
from shipway.model import bounded
from shipway.model import kargo_step_configs as c
from shipway.model.errors import InputError
from shipway.promote.steps.base import StepEnv, StepFailed, StepResult
from shipway.updater.edit import helm as helm_edit
from shipway.updater.edit import kustomize as kustomize_edit


def copy(env: StepEnv, cfg: c.Copy) -> StepResult:
    src, dst = env.path(cfg.in_path), env.path(cfg.out_path)
    if not src.exists():
        raise StepFailed(f"inPath {cfg.in_path!r} does not exist")
    patterns = [p.strip() for p in (cfg.ignore or "").splitlines() if p.strip()]

    def ignored(_dir: str, names: list[str]) -> set[str]:
        return {n for n in names if n == ".git" or any(fnmatch(n, p) for p in patterns)}

    if src.is_dir():
        shutil.copytree(src, dst, ignore=ignored, dirs_exist_ok=True)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
    return StepResult()


def delete(env: StepEnv, cfg: c.Delete) -> StepResult:
    for rel in cfg.targets:
        targets = _globbed(env, rel) if cfg.paths_are_globs else [env.path(rel)]
        targets = [t for t in targets if t.exists() or t.is_symlink()]
        if not targets and cfg.strict:
            raise StepFailed(
                f"{'pattern' if cfg.paths_are_globs else 'path'} {rel!r} "
                f"{'matches nothing' if cfg.paths_are_globs else 'does not exist'}"
            )
        for target in targets:
            if target == env.work.resolve():
                raise StepFailed("delete: refusing to delete the work directory itself")
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
    return StepResult()


def _globbed(env: StepEnv, pattern: str) -> list[Path]:
    """The paths ``pattern`` (``**`` for any depth) matches under the work directory."""
    root = env.work.resolve()
    rel = pattern.removeprefix("./").rstrip("/")
    found = sorted(root.glob(rel), key=lambda p: len(p.parts), reverse=True)
    return [env.path(str(p.relative_to(root))) for p in found]


def _read(env: StepEnv, rel: str) -> tuple[Path, str]:
    path = env.path(rel)
    if not path.is_file():
        raise StepFailed(f"file {rel!r} does not exist")
    return path, path.read_text()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def yaml_update(env: StepEnv, cfg: c.YAMLUpdate) -> StepResult:
    path, text = _read(env, cfg.path)
    try:
        out, _ = helm_edit.set_values(text, cfg.path, {u.key: _text(u.value) for u in cfg.updates})
    except InputError as exc:
        raise StepFailed(str(exc)) from None
    path.write_text(out)
    lines = [f"- {u.key}: {_text(u.value)}" for u in cfg.updates]
    return StepResult(output={"commitMessage": f"Updated {cfg.path}\n\n" + "\n".join(lines)})


def _indent(text: str) -> int:
    m = re.search(r"\n( +)\S", text)
    return len(m[1]) if m else 2


def _set_json(doc: Any, key: str, value: Any) -> None:
    parts = key.split(".")
    node = doc
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise StepFailed(
                    f"key {key!r}: {part!r} is not an index of a {len(node)}-item list"
                )
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise StepFailed(f"key {key!r}: {'.'.join(parts[:i])!r} is not an object or a list")


def json_update(env: StepEnv, cfg: c.JSONUpdate) -> StepResult:
    path, text = _read(env, cfg.path)
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise StepFailed(f"{cfg.path}: not JSON: {exc}") from None
    for u in cfg.updates:
        _set_json(doc, u.key, u.value)
    path.write_text(json.dumps(doc, indent=_indent(text)) + "\n")
    lines = [f"- {u.key}: {json.dumps(u.value)}" for u in cfg.updates]
    return StepResult(output={"commitMessage": f"Updated {cfg.path}\n\n" + "\n".join(lines)})


_KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def kustomize_set_image(env: StepEnv, cfg: c.KustomizeSetImage) -> StepResult:
    root = env.path(cfg.path)
    file = next((root / n for n in _KUSTOMIZATIONS if (root / n).is_file()), None)
    if file is None:
        raise StepFailed(f"no kustomization file in {cfg.path!r}")
    text = file.read_text()
    lines = []
    images = cfg.images or [c.KustomizeImage.model_validate({"image": str(i["repoURL"])})
                            for i in _freight_images(env)]  # fmt: skip
    if not images:
        raise StepFailed("no images given and none in the promotion's Freight")
    for img in images:
        tag, digest = img.tag, img.digest
        if tag is None and digest is None:
            tag = _freight_tag(env, img.image)
        try:
            text, _ = kustomize_edit.set_image(
                text, str(file.relative_to(env.work.resolve())), img.image,
                new_name=img.new_name, new_tag=tag, digest=digest,
            )  # fmt: skip
        except InputError as exc:
            raise StepFailed(str(exc)) from None
        lines.append(f"- {img.new_name or img.image}{'@' + digest if digest else ':' + str(tag)}")
    file.write_text(text)
    msg = "Updated " + cfg.path + " to use new image" + ("s" if len(lines) > 1 else "")
    return StepResult(output={"commitMessage": msg + "\n\n" + "\n".join(lines)})


def _freight_images(env: StepEnv) -> list[dict[str, Any]]:
    return [i for i in env.freight.get("images") or [] if i.get("repoURL")]


def _freight_tag(env: StepEnv, repo_url: str) -> str:
    for img in env.freight.get("images") or []:
        if img.get("repoURL") == repo_url and img.get("tag"):
            return str(img["tag"])
    raise StepFailed(f"image {repo_url!r}: no tag or digest given and none in the Freight")


def kustomize_build(env: StepEnv, cfg: c.KustomizeBuild) -> StepResult:
    src = env.path(cfg.path)
    out = env.path(cfg.out_path)
    try:
        text = _run_tool(["kubectl", "kustomize", "."], src, cfg.path)
    except InputError as exc:
        raise StepFailed(str(exc)) from None
    if out.suffix in (".yaml", ".yml"):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        return StepResult()
    out.mkdir(parents=True, exist_ok=True)
    try:
        docs = bounded.load_yaml_all(text, "kustomize build output")
    except InputError as exc:
        raise StepFailed(str(exc)) from None
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        out.joinpath(_file_name(doc, cfg.output_format)).write_text(
            yaml.safe_dump(doc, sort_keys=False)
        )
    return StepResult()


def _file_name(doc: dict[str, Any], fmt: str) -> str:
    kind = str(doc.get("kind", "")).lower()
    name = str((doc.get("metadata") or {}).get("name", "")).lower()
    if fmt == "kargo":
        return f"{kind}-{name}.yaml"
    group, _, version = str(doc.get("apiVersion", "")).rpartition("/")
    return f"{group or ''}{'_' if group else ''}{version}_{kind}_{name}.yaml".lstrip("_")


RUNNERS: dict[str, Any] = {
    "copy": copy,
    "delete": delete,
    "yaml-update": yaml_update,
    "json-update": json_update,
    "kustomize-set-image": kustomize_set_image,
    "kustomize-build": kustomize_build,
}
