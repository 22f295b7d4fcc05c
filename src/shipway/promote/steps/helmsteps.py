"""helm-update-image, helm-update-chart and helm-template, with Kargo's config fields.

helm-update-image sets dotted keys of a values file (``updater.edit.helm``:
comments and layout kept, a missing key an error naming the line); a
``value`` of ``Tag``, ``Digest``, ``ImageAndTag`` or ``ImageAndDigest`` takes
the image from the promotion's Freight (``fromOrigin`` to choose among
origins), any other value is written as given. helm-update-chart sets the
``version`` of ``Chart.yaml`` dependencies found by exact ``repository`` and
``name`` (``updater.edit.chart``); a chart without ``version`` takes the
Freight's (an OCI dependency's chart is ``repository/name``). Kargo also
refreshes ``Chart.lock`` and ``charts/``: that is ``helm dependency update``,
run when ``helm`` is on PATH and otherwise refused, naming what needs it (a
``Chart.lock`` present, or no ``charts`` given: Chart.yaml's own ranges).
helm-template runs ``helm template`` (refused when ``helm`` is not on PATH)
and writes one file (``outPath`` ending ``.yaml``/``.yml``) or a directory in
Helm's layout (``<chart>/templates/...``; the release name with
``useReleaseName``) or flat. Outputs: ``commitMessage`` for the two updates.
Paths stay inside the promotion's work directory.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from shipway.model import kargo_helm_configs as c
from shipway.model.errors import InputError
from shipway.promote.freight import normalize_chart_url
from shipway.promote.steps.base import StepEnv, StepFailed, StepResult
from shipway.updater.edit import chart as chart_edit
from shipway.updater.edit import helm as helm_edit

HELM_TIMEOUT = 300.0


def _origin(o: c.Origin | None) -> dict[str, Any] | None:
    return {"kind": o.kind, "name": o.name} if o is not None else None


def _one(what: str, origin: c.Origin | None,
         hits: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:  # fmt: skip
    if not hits:
        raise StepFailed(f"{what} is not in the Freight of this promotion")
    origins = {str((f.get("origin") or {}).get("name")) for f, _ in hits}
    if len(origins) > 1 and origin is None:
        raise StepFailed(f"{what} comes from several origins ({', '.join(sorted(origins))}): "
                         "set fromOrigin")  # fmt: skip
    return hits[0][1]


def _image_value(env: StepEnv, img: c.HelmImage) -> str:
    if img.value not in c.IMAGE_VALUES:
        return img.value
    hits = [(f, i) for f in env.freights(_origin(img.from_origin))
            for i in f.get("images") or [] if i.get("repoURL") == img.image]  # fmt: skip
    found = _one(f"image {img.image!r}", img.from_origin, hits)
    tag, digest = str(found.get("tag") or ""), str(found.get("digest") or "")
    if img.value in ("Tag", "ImageAndTag") and not tag:
        raise StepFailed(f"image {img.image!r} has no tag in the Freight")
    if img.value in ("Digest", "ImageAndDigest") and not digest:
        raise StepFailed(f"image {img.image!r} has no digest in the Freight")
    return {"Tag": tag, "Digest": digest, "ImageAndTag": f"{img.image}:{tag}",
            "ImageAndDigest": f"{img.image}@{digest}"}[img.value]  # fmt: skip


def helm_update_image(env: StepEnv, cfg: c.HelmUpdateImage) -> StepResult:
    path = env.path(cfg.path)
    if not path.is_file():
        raise StepFailed(f"values file {cfg.path!r} does not exist")
    values = {img.key: _image_value(env, img) for img in cfg.images}
    try:
        out, _ = helm_edit.set_values(path.read_text(), cfg.path, values)
    except InputError as exc:
        raise StepFailed(str(exc)) from None
    path.write_text(out)
    lines = [f"- {k}: {v}" for k, v in values.items()]
    head = f"Updated {cfg.path} to use new image" + ("s" if len(values) > 1 else "")
    return StepResult(output={"commitMessage": head + "\n\n" + "\n".join(lines)})


def _chart_version(env: StepEnv, dep: c.HelmChartDep) -> str:
    if dep.version:
        return dep.version
    if dep.repository.startswith("oci://"):
        url, name = dep.repository.rstrip("/") + "/" + dep.name, ""
    else:
        url, name = dep.repository, dep.name
    want = normalize_chart_url(url)
    hits = [(f, ch) for f in env.freights(_origin(dep.from_origin))
            for ch in f.get("charts") or []
            if normalize_chart_url(str(ch.get("repoURL", ""))) == want
            and (ch.get("name") or "") == name]  # fmt: skip
    found = _one(f"chart {dep.repository} {dep.name}", dep.from_origin, hits)
    return str(found.get("version") or "")


def _helm() -> str | None:
    return shutil.which("helm")


def _run_helm(args: list[str], cwd: Path, what: str) -> str:
    helm = _helm()
    if helm is None:
        raise StepFailed(f"{what} needs the helm binary, and helm is not on PATH on this machine")
    try:
        proc = subprocess.run([helm, *args], cwd=cwd, capture_output=True, text=True,
                              timeout=HELM_TIMEOUT, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StepFailed(f"helm {args[0]}: {exc}") from None
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise StepFailed(f"helm {' '.join(args[:2])}: {msg[-1] if msg else 'failed'}")
    return proc.stdout


def helm_update_chart(env: StepEnv, cfg: c.HelmUpdateChart) -> StepResult:
    root = env.path(cfg.path)
    file = root / "Chart.yaml"
    if not file.is_file():
        raise StepFailed(f"no Chart.yaml in {cfg.path!r}")
    rel = f"{cfg.path.rstrip('/')}/Chart.yaml"
    lines: list[str] = []
    if cfg.charts:
        deps = [chart_edit.Dependency(d.repository, d.name, _chart_version(env, d), d.alias)
                for d in cfg.charts]  # fmt: skip
        try:
            text, changes = chart_edit.set_dependency_versions(file.read_text(), rel, deps)
        except InputError as exc:
            raise StepFailed(str(exc)) from None
        lines = [f"- {ch.key.removeprefix('dependencies[').removesuffix('].version')}: "
                 f"{ch.old} -> {ch.new}" for ch in changes]  # fmt: skip
        lock = root / "Chart.lock"
        if lock.exists() and _helm() is None:
            raise StepFailed(
                f"{cfg.path}/Chart.lock must follow Chart.yaml: that is `helm dependency "
                "update`, and helm is not on PATH on this machine (remove Chart.lock from the "
                "repository, or install helm)"
            )
        file.write_text(text)
        if lock.exists():
            _run_helm(["dependency", "update", "."], root, "updating Chart.lock")
    else:
        _run_helm(["dependency", "update", "."], root,
                  "helm-update-chart without charts (Chart.yaml's own version ranges)")  # fmt: skip
        lines = ["- dependencies updated to the newest versions their ranges allow"]
    head = f"Updated chart dependencies for {cfg.path}"
    return StepResult(output={"commitMessage": head + ("\n\n" + "\n".join(lines) if lines
                                                       else "")})  # fmt: skip


def _template_args(env: StepEnv, cfg: c.HelmTemplate, chart: Path) -> list[str]:
    args = ["template", cfg.release_name or "release-name", str(chart)]
    if cfg.namespace:
        args += ["--namespace", cfg.namespace]
    for vf in cfg.values_files:
        args += ["--values", str(env.path(vf))]
    for sv in cfg.set_values:
        args += ["--set", f"{sv.key}={sv.value}"]
    if cfg.include_crds:
        args.append("--include-crds")
    if cfg.disable_hooks:
        args.append("--no-hooks")
    if cfg.skip_tests:
        args.append("--skip-tests")
    if cfg.kube_version:
        args += ["--kube-version", cfg.kube_version]
    for av in cfg.api_versions:
        args += ["--api-versions", av]
    return args


def helm_template(env: StepEnv, cfg: c.HelmTemplate) -> StepResult:
    if _helm() is None:
        raise StepFailed("helm-template needs the helm binary, and helm is not on PATH on "
                         "this machine")  # fmt: skip
    chart, out = env.path(cfg.path), env.path(cfg.out_path)
    if not (chart / "Chart.yaml").is_file():
        raise StepFailed(f"no Chart.yaml in {cfg.path!r}")
    if cfg.build_dependencies:
        _run_helm(["dependency", "build", "."], chart, "buildDependencies")
    args = _template_args(env, cfg, chart)
    if out.suffix in (".yaml", ".yml"):
        text = _run_helm(args, env.work, "helm-template")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        return StepResult()
    with tempfile.TemporaryDirectory(dir=env.work) as tmp:
        extra = ["--release-name"] if cfg.use_release_name else []
        _run_helm([*args, "--output-dir", tmp, *extra], env.work, "helm-template")
        out.mkdir(parents=True, exist_ok=True)
        for src in sorted(Path(tmp).rglob("*")):
            if not src.is_file():
                continue
            dst = out / (src.name if cfg.out_layout == "flat" else src.relative_to(tmp))
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    return StepResult()


RUNNERS: dict[str, Any] = {
    "helm-update-image": helm_update_image,
    "helm-update-chart": helm_update_chart,
    "helm-template": helm_template,
}
