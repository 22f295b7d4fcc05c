"""List commands read the store as it is: schema checked, never migrated, little imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from cli_runner import run as run_cli
from shipway.settings import Settings
from shipway.store import db, reads

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source: {repoURL: "git://127.0.0.1/config.git", path: app}
  destination: {name: local, namespace: web}
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``shipway ARGS`` with its stderr's white space folded (messages wrap to the terminal)."""
    code, out, err = run_cli(args, capsys)
    return code, out, " ".join(err.split())


def test_the_known_revisions_are_the_migrations_in_order() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    script = ScriptDirectory.from_config(cfg)
    walked = [s.revision for s in script.walk_revisions()]  # head first
    assert tuple(reversed(walked)) == reads.REVISIONS
    assert script.get_current_head() == reads.HEAD


def test_listing_a_store_not_created_yet_creates_nothing(
    shipway_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (["get", "applications"], ["app", "list"], ["release", "list"], ["ci", "list"]):
        code, out, _ = run([*args, "-o", "json"], capsys)
        assert code == 0
        assert json.loads(out) == {"apiVersion": "v1", "kind": "List", "items": []}
    assert not (shipway_home / "shipway.db").exists()


def test_get_and_app_list_print_the_same_list(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.yaml").write_text(APP)
    assert run(["apply", "-f", str(tmp_path / "app.yaml")], capsys)[0] == 0
    got = json.loads(run(["get", "applications", "-o", "json"], capsys)[1])
    listed = json.loads(run(["app", "list", "-o", "json"], capsys)[1])
    assert got == listed
    assert [i["metadata"]["name"] for i in got["items"]] == ["web"]
    assert run(["app", "list", "-o", "name"], capsys)[1] == "application/web\n"
    code, out, _ = run(["app", "list", "--no-headers"], capsys)
    assert code == 0 and out.split()[:3] == ["web", "local", "web"]
    assert "NAME" in run(["app", "list"], capsys)[1].splitlines()[0]


def test_an_older_schema_asks_for_shipway_migrate(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(home=shipway_home, database_url="")
    shipway_home.mkdir(parents=True)
    engine = db.engine_for(settings)
    db.migrate(engine, "0006")
    engine.dispose()
    code, _, err = run(["get", "applications"], capsys)
    assert code == 2
    assert "revision 0006" in err and "run shipway migrate" in err
    assert run(["app", "list"], capsys)[0] == 2
    code, out, _ = run(["migrate"], capsys)
    assert code == 0 and reads.HEAD in out
    assert run(["get", "applications"], capsys)[0] == 0


def test_a_newer_schema_is_refused(shipway_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["migrate"], capsys)[0] == 0
    engine = db.engine_for(Settings(home=shipway_home, database_url=""))
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    code, _, err = run(["release", "list"], capsys)
    assert code == 2 and "newer than this shipway" in err


@pytest.mark.parametrize(
    "args", [["get", "applications"], ["app", "list"], ["release", "list"], ["ci", "list"],
             ["get", "events"], ["get", "events", "--field-selector", "type=Normal"],
             ["describe", "app", "web"], ["describe", "applications"], ["metrics", "dora"]],
)  # fmt: skip
def test_list_commands_import_no_heavy_library(shipway_home: Path, args: list[str]) -> None:
    assert run_main_in_child(["apply", "-f", "-"], APP).returncode == 0
    probe = run_main_in_child(args, "", report_modules=True)
    assert probe.returncode == 0, probe.stderr
    loaded = probe.stdout.strip().splitlines()[-1]
    assert loaded == "[]", f"{args} imported {loaded}"


HEAVY = ("sqlalchemy", "alembic", "rich", "pydantic", "httpx", "fastapi", "kubernetes", "yaml")


@pytest.mark.parametrize(
    "args", [["get", "events"], ["describe", "app", "web"], ["account", "list"],
             ["metrics", "dora"], ["app", "history", "web"], ["app", "get", "web", "--no-refresh"]],
)  # fmt: skip
def test_reads_through_the_store_at_head_do_not_load_alembic(
    shipway_home: Path, args: list[str]
) -> None:
    assert run_main_in_child(["apply", "-f", "-"], APP).returncode == 0
    probe = run_main_in_child(args, "", report_modules=True)
    assert probe.returncode == 0, probe.stderr
    assert "alembic" not in probe.stdout.strip().splitlines()[-1], args


def test_a_write_migrates_an_older_schema_by_itself(
    shipway_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(home=shipway_home, database_url="")
    shipway_home.mkdir(parents=True)
    engine = db.engine_for(settings)
    db.migrate(engine, "0006")
    assert not db.at_head(engine)
    probe = run_main_in_child(["apply", "-f", "-"], APP, report_modules=True)
    assert probe.returncode == 0, probe.stderr
    assert "alembic" in probe.stdout.strip().splitlines()[-1]
    assert db.at_head(engine)
    engine.dispose()


def run_main_in_child(
    args: list[str], stdin: str, report_modules: bool = False
) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        "from shipway.cli.main import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
    )
    if report_modules:
        code += f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    return subprocess.run(
        [sys.executable, "-c", code], input=stdin, capture_output=True, text=True, timeout=60
    )


LABELLED = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, labels: {labels}}}
spec:
  source: {{repoURL: "git://127.0.0.1/config.git", path: app}}
  destination: {{name: local, namespace: web}}
"""


def test_selectors_filter_get_and_app_list(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = [
        LABELLED.format(name="web", labels="{team: shop, env: prod}"),
        LABELLED.format(name="api", labels="{team: shop, env: dev}"),
        LABELLED.format(name="db", labels="{team: data}"),
    ]
    (tmp_path / "apps.yaml").write_text("---\n".join(docs))
    assert run(["apply", "-f", str(tmp_path / "apps.yaml")], capsys)[0] == 0
    cases = {
        "team=shop": ["application/api", "application/web"],
        "env!=prod": ["application/api", "application/db"],
        "env in (prod,dev),team": ["application/api", "application/web"],
        "!env": ["application/db"],
    }
    for selector, names in cases.items():
        for args in (["get", "apps"], ["app", "list"]):
            code, out, err = run([*args, "-l", selector, "-o", "name"], capsys)
            assert (code, out.split()) == (0, names), (args, selector, err)
    code, _, err = run(["get", "apps", "-l", "env in prod"], capsys)
    assert code == 2 and "env in prod" in err
    code, out, _ = run(["get", "apps", "--no-headers", "-l", "!env"], capsys)
    assert code == 0 and out.split()[0] == "db" and out.split()[-1].endswith("s")
    header = run(["get", "apps"], capsys)[1].splitlines()[0].split()
    assert header == ["NAME", "SOURCE", "AGE"]


def test_release_get_reads_as_the_lists_do(
    shipway_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shipway.model.release import Release
    from shipway.store import releases

    store = db.open_store(Settings())
    try:
        releases.save(store, Release(id="rel-7f3a", app="web", commit="c" * 40))
    finally:
        store.close()
    code, out, _ = run(["release", "get", "rel-7", "-o", "jsonpath={.id} {.app}"], capsys)
    assert (code, out) == (0, "rel-7f3a web")
    code, _, err = run(["release", "get", "nope"], capsys)
    assert code == 3 and "release 'nope' not found" in err
    probe = run_main_in_child(["release", "get", "rel-7f3a", "-o", "name"], "",
                              report_modules=True)  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == ["release/rel-7f3a", "[]"]


def test_ci_logs_reads_as_the_lists_do(
    shipway_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shipway.store import runs

    store = db.open_store(Settings())
    try:
        record = {"id": "run-42", "workflow": "ci.yml", "event": "push", "conclusion": "success",
                  "jobs": []}  # fmt: skip
        runs.save_run(store, record, "step one\nstep two")
    finally:
        store.close()
    assert run(["ci", "logs", "run-4"], capsys)[:2] == (0, "step one\nstep two\n")
    code, _, err = run(["ci", "logs", "nope"], capsys)
    assert code == 3 and "CI run 'nope' not found" in err
    probe = run_main_in_child(["ci", "logs", "run-42"], "", report_modules=True)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == ["step one", "step two", "[]"]
