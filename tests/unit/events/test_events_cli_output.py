"""``shipway get events`` and ``shipway metrics dora`` output, as kubectl's and as JSON/YAML."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from shipway.cli.main import cli
from shipway.model.errors import InputError
from shipway.model.events import ObjectRef
from shipway.model.release import STAGES, Release
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import releases
from shipway.store.db import open_store


def _seed(home: Path) -> None:
    now = dt.datetime.now(dt.UTC)  # (the tests read ages: seed just before)
    store = open_store(Settings(home=home))
    web = ObjectRef("Application", "web", "argocd")
    for minutes in (7, 6, 5):  # one event seen three times
        store_events.emit(store, web, "SyncFailed", "boom", type="Warning",
                          at=now - dt.timedelta(minutes=minutes))  # fmt: skip
    store_events.emit(store, ObjectRef("CIRun", "r1", "ci"), "RunStarted", "go", source="ci",
                      release_id="rel9", at=now - dt.timedelta(minutes=3, seconds=30))  # fmt: skip
    store.close()


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.output


def test_table_as_kubectl_events(shipway_home: Path) -> None:
    _seed(shipway_home)
    code, out = _run("get", "events")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    # kubectl's ages (duration.HumanDuration): 5m0s reads "5m", a second later "5m1s"
    last, rest = lines[1].split(")", 1)
    assert re.fullmatch(r"5m(\d+s)? \(x3 over 7m(\d+s)?", last), lines[1]
    assert rest.split() == ["Warning", "SyncFailed", "application/web", "boom"]
    assert lines[2].split()[1:] == ["Normal", "RunStarted", "cirun/r1", "go"]
    assert len(lines) == 3


def test_a_narrow_terminal_never_cuts_the_object(
    shipway_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(shipway_home)
    monkeypatch.setenv("COLUMNS", "40")
    code, out = _run("get", "events")
    assert code == 0, out
    header, *rows = out.splitlines()
    assert header.split()[-1] == "OBJECT", out  # MESSAGE and REASON gave way first
    assert [r.split()[-1] for r in rows] == ["application/web", "cirun/r1"], out


def test_all_namespaces_and_wide(shipway_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(shipway_home)
    monkeypatch.setenv("COLUMNS", "60")  # a narrow terminal: -o wide is never shortened
    code, out = _run("get", "events", "-A", "-o", "wide")
    assert code == 0, out
    header = out.splitlines()[0].split()
    assert header[0] == "NAMESPACE" and header[-5:] == ["SOURCE", "FIRST", "SEEN", "COUNT",
                                                        "RELEASE"]  # fmt: skip
    rows = [line.split() for line in out.splitlines()[1:]]
    assert rows[0][0] == "argocd" and rows[1][0] == "ci"
    assert rows[1][-4:-2] == ["ci", rows[1][-3]] and rows[1][-2:] == ["1", "rel9"]
    assert re.fullmatch(r"3m3\ds", rows[1][-3]), rows[1]  # FIRST SEEN 3m30s ago, as kubectl


def test_filters(shipway_home: Path) -> None:
    _seed(shipway_home)
    code, out = _run("get", "events", "--for", "app/web", "-o", "json")
    assert code == 0, out
    listing = json.loads(out)
    assert (listing["apiVersion"], listing["kind"]) == ("v1", "List")  # as kubectl get events
    assert [i["involvedObject"]["name"] for i in listing["items"]] == ["web"]
    assert listing["items"][0]["count"] == 3
    code, out = _run("get", "events", "-n", "ci", "-o", "yaml")
    doc = yaml.safe_load(out)
    assert [i["reason"] for i in doc["items"]] == ["RunStarted"]
    code, out = _run("get", "events", "--types", "Warning", "-o", "name")
    assert out.split() == ["event/web.1"]
    res = CliRunner().invoke(cli, ["get", "events", "-n", "nowhere"])
    assert res.exit_code == 0 and res.stdout == ""  # no header, as kubectl
    assert res.stderr == "No events found in nowhere namespace.\n"


def test_field_selector_labels_and_sort_by(shipway_home: Path) -> None:
    _seed(shipway_home)
    code, out = _run("get", "events", "--field-selector", "type=Warning", "-o", "name")
    assert (code, out.split()) == (0, ["event/web.1"])
    code, out = _run("get", "events", "--field-selector",
                     "involvedObject.kind=CIRun,reason!=RunFailed", "-o", "name")  # fmt: skip
    assert out.split() == ["event/r1.2"], out
    code, out = _run("get", "events", "--sort-by", ".reason", "-o",
                     "custom-columns=REASON:.reason,COUNT:.count")  # fmt: skip
    assert out.splitlines() == ["REASON       COUNT", "RunStarted   1", "SyncFailed   3"]
    code, out = _run("get", "events", "--sort-by", "{.count}", "-o", "jsonpath={..reason}")
    assert out == "RunStarted SyncFailed"
    res = CliRunner().invoke(cli, ["get", "events", "--field-selector", "type=Normal,reason=x"])
    assert res.stdout == "" and "No events found" in res.stderr
    res = CliRunner().invoke(cli, ["get", "events", "-l", "team in (a,b)", "-o", "json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["items"] == []  # events carry no labels
    res = CliRunner().invoke(cli, ["get", "events", "--field-selector", "type"])
    assert isinstance(res.exception, InputError)


def test_bad_flags(shipway_home: Path) -> None:
    for args, message in ((["--for", "web"], "expected KIND/NAME"),
                          (["--types", "Error"], "expected Normal or Warning")):  # fmt: skip
        res = CliRunner().invoke(cli, ["get", "events", *args])
        assert isinstance(res.exception, InputError) and message in str(res.exception)


def _release(rid: str, hours_ago: float, ok: bool, now: dt.datetime) -> Release:
    created = now - dt.timedelta(hours=hours_ago)
    rel = Release(id=rid, app="web", commit=rid * 8, created=created)
    for name in STAGES:
        rel.finish(name, ok or name != "sync", at=created + dt.timedelta(minutes=10))
        if not ok and name == "sync":
            break
    return rel


def test_metrics_dora(shipway_home: Path) -> None:
    store = open_store(Settings(home=shipway_home))
    now = dt.datetime.now(dt.UTC)  # one clock for all: the durations are exact
    for rel in (_release("a", 50, True, now), _release("b", 30, False, now),
                _release("c", 20, True, now), _release("old", 24 * 40, True, now)):  # fmt: skip
        releases.save(store, rel)
    store.close()
    code, out = _run("metrics", "dora", "--app", "web", "--since", "7d", "-o", "json")
    assert code == 0, out
    d = json.loads(out)
    assert (d["releases"], d["deployments"], d["failures"]) == (3, 2, 1)
    assert d["deploymentFrequencyPerDay"] == 2 / 7
    assert d["leadTimeSeconds"]["median"] == 600
    assert d["changeFailureRate"] == 1 / 3
    assert d["timeToRestoreSeconds"]["median"] == 10 * 3600  # b failed at -29h50, c live -19h50
    code, out = _run("metrics", "dora")
    assert code == 0 and "change failure rate" in out and "33%" in out
    res = CliRunner().invoke(cli, ["metrics", "dora", "--since", "soon"])
    assert isinstance(res.exception, InputError) and "--since 'soon'" in str(res.exception)
