"""Fixtures of the browser tests: one seeded world and one server per module, one system
Chromium per session (never a downloaded browser), a page per test that fails the test
on any console error, screenshots under the session's ``artifacts`` directory."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from ui_world import PASSWORD, World, seed, serving

from shipway import cluster

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("no system chromium at /usr/bin/chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, git_server: Any) -> Iterator[World]:
    base = tmp_path_factory.mktemp("ui-world")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHIPWAY_HOME", str(base / "home"))
        mp.delenv("SHIPWAY_DATABASE_URL", raising=False)
        url = git_server.bare(f"ui-config-{base.name}")
        store, settings, target, work, run_id, rel_id = seed(base / "home", url, base / "work")
        try:
            with serving(store, settings) as served:
                yield World(served, base / "home", store, settings, target, work, run_id, rel_id)
        finally:
            cluster.register("mem", None)
            store.close()


class Watched:
    """A page and the console errors it logged."""

    def __init__(self, page: Page, artifacts: Path, name: str) -> None:
        self.page, self.artifacts, self.name = page, artifacts, name
        self.errors: list[str] = []
        self.refusals_expected = False  # a test that asks for a 4xx sets this
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        # which request failed (the console says only "status of 401")
        page.on("response", lambda r: self.errors.append(f"HTTP {r.status} {r.url}")
                if r.status >= 400 else None)  # fmt: skip

    def shot(self, label: str) -> Path:
        path = self.artifacts / f"{self.name}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def axe(self) -> list[str]:
        """Serious and critical axe violations of the page as it is now."""
        self.page.add_script_tag(path=str(AXE))
        found: list[str] = self.page.evaluate(
            """async () => (await axe.run(document)).violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"""
        )
        return found


def sign_in(page: Page, url: str, user: str, password: str = PASSWORD) -> None:
    page.goto(url + "/login")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/applications.*|.*/$"))


@pytest.fixture
def as_user(browser: Browser, world: World, artifacts: Path,
            request: pytest.FixtureRequest) -> Iterator[Any]:  # fmt: skip
    """``as_user(name)`` → a signed-in ``Watched`` page; console errors fail the test."""
    opened: list[Watched] = []

    def make(user: str | None) -> Watched:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        w = Watched(ctx.new_page(), artifacts, f"{request.node.name}-{user or 'anon'}")
        if user:
            sign_in(w.page, world.url, user)
        opened.append(w)
        return w

    yield make
    for w in opened:
        w.page.context.close()
    for w in opened:
        ok = [
            e
            for e in w.errors
            if not (w.refusals_expected and ("status of 4" in e or e.startswith("HTTP 4")))
        ]
        assert not ok, f"console errors: {ok}"
