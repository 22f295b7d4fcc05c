"""``shipway demo``: the whole chain on this machine, driven by events.

1. start (or reuse) the controller, a registry that notifies it, a git daemon;
2. build the busybox base image locally; create the app repo (with its CI
   workflow) and the config repo (kustomize base, dev overlay, test/uat/prod
   overlays); apply the ``Pipeline`` and Argo CD ``Application`` that bind
   them, then an ApplicationSet (hello-test, hello-uat, hello-prod) and a Kargo
   project (Warehouse, Stages, AnalysisTemplate) as ``shipway apply`` would;
3. push commits to the app repo and watch each release travel: git hook →
   CI → registry notification → updater commit → config hook → sync → health,
   and its Freight through test, uat and prod (``demo.flow``); the second
   change's health check fails, so test rolls back and uat refuses it;
4. print each release and each stage as a timeline, the URL where the app
   answers and the command that promotes to prod.
The demo itself only pushes and observes; the controller does the work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from shipway.controller.hooks import install_post_receive
from shipway.controller.tokens import HookTokens
from shipway.demo import base_image, flow, sample, stack, stages
from shipway.git.repo import Repo
from shipway.model import resources as model
from shipway.model.errors import CIError, ServiceError
from shipway.model.release import FINAL, Release
from shipway.settings import Settings
from shipway.store import releases
from shipway.store import resources as resource_store
from shipway.store.db import Store


@dataclass
class Outcome:
    release: Release
    pushed_at: float
    healthy_at: float | None
    answer: dict[str, str] | None
    stages: flow.Flow | None = None  # test, uat and prod taking up the release's Freight


def _bare(stack_: stack.Stack, name: str, controller_url: str, tokens: HookTokens) -> str:
    path = stack_.git_base / f"{name}.git"
    if not path.exists():
        Repo.init(path, bare=True).run("symbolic-ref", "HEAD", "refs/heads/main")
    url = stack_.git_url(name)
    install_post_receive(path, controller_url, url, tokens.git(url))
    return url


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        if rel.endswith(".sh") or "/cgi-bin/" in rel:
            target.chmod(0o755)


def _clone(url: str, path: Path) -> Repo:
    if (path / ".git").exists():
        repo = Repo(path)
        repo.run("remote", "set-url", "origin", url)
        repo.fetch()
        if repo.run("ls-remote", "origin", "refs/heads/main").strip():
            repo.reset_hard("origin/main")
        return repo
    repo = Repo.clone(url, path)
    repo.run("checkout", "-q", "-B", "main")
    return repo


class Demo:
    def __init__(self, settings: Settings, store: Store, say: Callable[[str], None]) -> None:
        self.settings = settings
        self.store = store
        self.say = say
        self.root = settings.home / "demo"
        self.ci = "github"  # or "tekton": the app's CI as a .tekton/ PipelineRun

    def _log(self, text: str) -> None:
        self.say(text)

    def prepare(self) -> tuple[stack.Stack, Repo]:
        self._log("starting services (controller, registry, git daemon)")
        tokens = HookTokens(self.settings, self.store)
        st = stack.up(self.settings, tokens.registry())
        self._log(
            f"  controller {st.controller.url}, registry {st.registry_host}, "
            f"git git://127.0.0.1:{st.git.port}/"
        )
        self._log(stack.ui_login(self.settings, st.controller.url))
        self._log("building the busybox base image locally")
        base_image.ensure(self.root / "base", st.registry_host)
        src_url = _bare(st, "hello", st.controller.url, tokens)
        cfg_url = _bare(st, "config", st.controller.url, tokens)
        config = _clone(cfg_url, self.root / "src" / "config")
        _write(config.path, sample.config_files(st.registry_host, st.app_port))
        _write(config.path, flow.config_files(st.registry_host, st.stage_ports))
        config.add_all()
        if config.has_changes():
            config.commit("Config for the hello app: kustomize base, dev and stage overlays")
            config.push("origin", "HEAD:refs/heads/main")
        text = sample.resources_yaml(src_url, cfg_url, st.registry_host)
        (self.root / "resources.yaml").write_text(text)
        resource_store.apply(self.store, model.parse_text(text, str(self.root / "resources.yaml")))
        self._apply_stages(st, cfg_url)
        app = _clone(src_url, self.root / "src" / "hello")
        return st, app

    def _apply_stages(self, st: stack.Stack, cfg_url: str) -> None:
        """The ApplicationSet and Kargo objects for test, uat and prod, applied as a user would."""
        text = stages.kargo_yaml(cfg_url, st.registry_host, st.stage_ports)
        names = ", ".join(stages.app_name(s) for s in stages.STAGES)
        self._log(f"applying {self.root / 'kargo.yaml'}: ApplicationSet {stages.PROJECT} "
                  f"({names}) and Kargo project {stages.PROJECT}")  # fmt: skip
        for line in flow.apply_content(self.store, self.settings, self.root / "kargo.yaml", text):
            self._log(f"  {line}")

    def change(self, st: stack.Stack, app: Repo, timeout: float, healthy: bool = True) -> Outcome:
        """Commit a new version of the app, push it, and follow its release to the end."""
        current = app.path / "www" / "VERSION"
        version = sample.bump(current.read_text().strip()) if current.exists() else "1.0.0"
        _write(app.path, sample.app_files(version, healthy, self.ci))
        app.add_all()
        commit = app.commit(f"hello {version}" + ("" if healthy else " (its health check fails)"))
        self._log(f"pushing hello {version} (commit {commit[:12]})")
        pushed = time.monotonic()
        app.push("origin", "HEAD:refs/heads/main")
        rel = self._follow(commit, timeout)
        healthy_at = time.monotonic() if rel.status == "Succeeded" else None
        answer = self._answer(st.app_port, version) if rel.status == "Succeeded" else None
        out = Outcome(release=rel, pushed_at=pushed, healthy_at=healthy_at, answer=answer)
        if rel.status == "Succeeded":
            self._follow_stages(out, timeout)
        return out

    def _follow_stages(self, out: Outcome, timeout: float) -> None:
        """Follow the release's Freight through test, uat and prod; keep the linked record."""
        self._log("  promotion: test, uat, prod")
        out.stages = flow.follow(self.store, out.release, self._log, timeout)
        out.release = releases.get(self.store, out.release.id)  # now naming its Freight

    def _follow(self, commit: str, timeout: float) -> Release:
        deadline = time.monotonic() + timeout
        seen: dict[str, str] = {}
        while True:
            rels = releases.for_commit(self.store, commit, sample.APP_NAME)
            if rels:
                rel = rels[-1]
                for stg in rel.stages:
                    if seen.get(stg.name) != stg.status and stg.status != "Pending":
                        seen[stg.name] = stg.status
                        self._log(
                            f"  {stg.name:<7} {stg.status}"
                            + (f": {stg.message}" if stg.message else "")
                        )
                if rel.status in FINAL:
                    return rel
            if time.monotonic() > deadline:
                where = rels[-1].stages if rels else []
                stuck = next((s.name for s in where if s.status not in FINAL), "ci")
                raise CIError(
                    f"release did not finish within {timeout:.0f}s (stuck in stage {stuck})",
                    subject=f"commit {commit[:12]}",
                )
            time.sleep(0.1)

    def _answer(self, port: int, version: str) -> dict[str, str]:
        url = f"http://127.0.0.1:{port}/cgi-bin/version"
        deadline = time.monotonic() + 20
        last = ""
        while time.monotonic() < deadline:
            try:
                resp = httpx.get(url, timeout=2)
                data: dict[str, str] = json.loads(resp.text)
                if data.get("version") == version:
                    return data
                last = resp.text.strip()
            except (httpx.HTTPError, ValueError) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise ServiceError(
            f"app at {url} did not report version {version}: {last}", subject="health"
        )


@dataclass
class DemoResult:
    outcomes: list[Outcome]
    app_url: str


def run(
    settings: Settings,
    store: Store,
    say: Callable[[str], None],
    changes: int = 2,
    timeout: float = 240.0,
    ci: str = "github",
) -> DemoResult:
    demo = Demo(settings, store, say)
    demo.ci = ci
    st, app = demo.prepare()
    outcomes = []
    for i in range(changes):
        out = demo.change(st, app, timeout, healthy=healthy_change(i))
        outcomes.append(out)
        if out.release.status != "Succeeded":
            break
    _check_api(settings, st.controller.url, [o.release.id for o in outcomes], say)
    return DemoResult(outcomes, f"http://127.0.0.1:{st.app_port}/cgi-bin/version")


def _check_api(settings: Settings, url: str, ids: list[str], say: Callable[[str], None]) -> None:
    """Read the releases back through the controller's API with the initial admin token."""
    from shipway.auth.accounts import INITIAL_SECRET, initial_admin

    secret = initial_admin(settings.home)
    if secret is None:
        say(f"controller API: no {INITIAL_SECRET} (the controller predates accounts); skipped")
        return
    try:
        resp = httpx.get(f"{url}/api/releases", timeout=10,
                         headers={"Authorization": f"Bearer {secret['token']}"})  # fmt: skip
    except httpx.HTTPError as exc:
        raise ServiceError(f"controller API did not answer: {exc}", subject="api") from None
    if resp.status_code != 200:
        raise ServiceError(f"controller API answered {resp.status_code}: {resp.text}",
                           subject="api")  # fmt: skip
    served = {r["id"] for r in resp.json()}
    missing = [i for i in ids if i not in served]
    if missing:
        raise ServiceError(f"controller API does not list releases {missing}", subject="api")
    say(f"controller API at {url}: {len(ids)} release(s) read as admin "
        f"(token in {settings.home / INITIAL_SECRET}; shipway login {url} --token …)")  # fmt: skip


def healthy_change(index: int) -> bool:
    """A run's second change ships a health check that fails: uat is kept from it."""
    return index != 1


def failed_stage(outcomes: list[Outcome]) -> str | None:
    for out in outcomes:
        if out.release.status != "Succeeded":
            return out.release.failed_stage or "unknown"
    return None
