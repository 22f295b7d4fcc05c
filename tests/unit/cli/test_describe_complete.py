"""``describe`` (kubectl's sections, events last), shell completion, typo suggestions."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_runner import run
from shipway.cli import describe, groups
from shipway.model import events as ev

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, labels: {tier: front, team: blue}}
spec:
  project: default
  source: {repoURL: "git://127.0.0.1/config.git", path: app, targetRevision: HEAD}
  destination: {name: local, namespace: web}
  syncPolicy: {syncOptions: [CreateNamespace=true]}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: api}
spec:
  source: {repoURL: "git://127.0.0.1/config.git", path: api}
  destination: {name: local, namespace: api}
"""
SHIPWAY = str(Path(sys.executable).with_name("shipway"))


def test_labels_as_kubectl_makes_them() -> None:
    assert describe.label("repoURL") == "Repo URL"
    assert describe.label("apiVersion") == "API Version"
    assert describe.label("targetRevision") == "Target Revision"
    assert describe.label("creationTimestamp") == "Creation Timestamp"
    assert describe.label("uid") == "UID"
    assert describe.label("CreateNamespace=true") == "CreateNamespace=true"
    assert describe.label("x_y") == "x_y"


def test_render_sections_and_events() -> None:
    at = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)
    meta = {"name": "a", "namespace": "ns", "creationTimestamp": "2026-12-03T07:00:00Z"}
    obj = {"apiVersion": "v1", "kind": "Thing", "metadata": meta,
           "spec": {"replicas": 2, "longerName": "x", "items": [{"name": "p"}, "plain"]},
           "status": {"phase": "Ready"}}  # fmt: skip
    events = [ev.Event(ev.ObjectRef("Thing", "a", "ns"), "Synced", "all good", source="deploy",
                       first=at - dt.timedelta(minutes=10), last=at - dt.timedelta(minutes=5),
                       count=3)]  # fmt: skip
    assert describe.render(obj, events, at).splitlines() == [
        "Name:         a",
        "Namespace:    ns",
        "Labels:       <none>",
        "Annotations:  <none>",
        "API Version:  v1",
        "Kind:         Thing",
        "Metadata:",
        "  Creation Timestamp:  2026-12-03T07:00:00Z",
        "Spec:",
        "  Replicas:     2",
        "  Longer Name:  x",
        "  Items:",
        "    Name:  p",
        "    plain",
        "Status:",
        "  Phase:  Ready",
        "Events:",
        "  Type    Reason  Age               From    Message",
        "  ----    ------  ----              ----    -------",
        "  Normal  Synced  5m (x3 over 10m)  deploy  all good",
    ]
    assert describe.render(obj, [], at).splitlines()[-1] == "Events:       <none>"


def test_describe_command(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "apps.yaml").write_text(APP)
    assert run(["apply", "-f", str(tmp_path / "apps.yaml")], capsys)[0] == 0
    code, out, _ = run(["describe", "application", "web"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[:4] == ["Name:         web", "Namespace:    argocd", "Labels:       team=blue",
                         "              tier=front"]  # fmt: skip
    assert "    Repo URL:         git://127.0.0.1/config.git" in lines
    assert lines[-1] == "Events:       <none>"
    assert run(["describe", "app/web"], capsys)[1] == out
    code, out, _ = run(["describe", "apps", "-l", "tier=front"], capsys)
    assert [ln for ln in out.splitlines() if ln.startswith("Name:")] == ["Name:         web"]
    code, out, _ = run(["describe", "apps"], capsys)
    assert out.count("\nEvents:") + out.startswith("Events:") == 2
    code, _, err = run(["describe", "app", "nope"], capsys)
    assert code == 3 and "not found" in err


def test_suggestions() -> None:
    known = sorted(groups.COMMANDS)
    assert groups.suggestions("gett", known)[0] == "get"
    assert groups.suggestions("delet", known)[0] == "delete"
    assert groups.suggestions("xyzzy", known) == []
    err = groups.unknown_command("aply", "shipway", known)
    assert err.exit_code == 2
    assert str(err).startswith(
        'unknown command "aply" for "shipway"\n\nDid you mean this?\n\tapply\n'
    )


def _complete(words: str, env: dict[str, str]) -> list[str]:
    parts = words.split(" ")
    proc = subprocess.run(
        [SHIPWAY], capture_output=True, text=True, check=False, timeout=60,
        env={**env, "_SHIPWAY_COMPLETE": "bash_complete", "COMP_WORDS": words,
             "COMP_CWORD": str(len(parts) - 1)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return [ln.split(",", 1)[1] for ln in proc.stdout.splitlines()]


def test_completion_of_commands_flags_kinds_and_names(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "apps.yaml").write_text(APP)
    assert run(["apply", "-f", str(tmp_path / "apps.yaml")], capsys)[0] == 0
    env = dict(os.environ)
    assert _complete("shipway ge", env) == ["get"]
    assert "describe" in _complete("shipway de", env)
    # every kind that starts so, as kubectl completes resource types
    assert _complete("shipway get applica", env) == ["applications", "applicationsets"]
    assert _complete("shipway get applicationse", env) == ["applicationsets"]
    assert "stages" in _complete("shipway get st", env)
    assert _complete("shipway get applications ", env) == ["api", "web"]
    assert _complete("shipway get applications w", env) == ["web"]
    assert _complete("shipway describe app a", env) == ["api"]
    assert _complete("shipway app logs ", env) == ["api", "web"]
    assert "--sort-by" in _complete("shipway get applications --so", env)
    assert _complete("shipway delete app ", env) == ["api", "web"]  # as kubectl delete
    assert _complete("shipway delete applications w", env) == ["web"]
    for words in ("shipway get apps -n ", "shipway app list -N ", "shipway get events -n "):
        assert {"argocd", "default"} <= set(_complete(words, env)), words  # namespaces
    assert _complete("shipway get apps -n ar", env) == ["argocd"]
    assert all("Error" not in w for w in _complete("shipway get events --for ", env))
    assert "custom-columns=" in _complete("shipway get apps -o cu", env)
    fish = "complete --no-files --command shipway"
    for shell, marker in (("bash", "complete -o"), ("zsh", "compdef"), ("fish", fish)):
        code, out, _ = run(["completion", shell], capsys)
        assert code == 0 and marker in out and "_SHIPWAY_COMPLETE" in out


def test_get_of_one_object_uses_the_list_columns_and_jsonpath(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "apps.yaml").write_text(APP)
    assert run(["apply", "-f", str(tmp_path / "apps.yaml")], capsys)[0] == 0
    code, out, _ = run(["get", "app", "web"], capsys)
    assert out.splitlines()[0].split() == ["NAME", "SOURCE", "AGE"]
    assert out.splitlines()[1].split()[0] == "web"
    assert run(["get", "app", "web", "-o", "jsonpath={.spec.source.path}"], capsys)[1] == "app"
    data = json.loads(run(["get", "app", "web", "-o", "json"], capsys)[1])
    assert data["metadata"]["creationTimestamp"].endswith("Z")
    code, out, _ = run(["get", "apps", "--sort-by", ".metadata.name", "-o", "name"], capsys)
    assert out.split() == ["application/api", "application/web"]
    code, out, _ = run(["app", "list", "--field-selector", "spec.source.path=api", "-o", "name"],
                       capsys)  # fmt: skip
    assert code == 0 and out.split() == ["application/api"]
    columns = "custom-columns=NAME:.metadata.name,PATH:.spec.source.path"
    _, out, _ = run(["get", "apps", "-o", columns, "--sort-by", "{.spec.source.path}"], capsys)
    assert out.splitlines() == ["NAME   PATH", "api    api", "web    app"]


def test_the_bash_script_completes_names_in_bash(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``source <(shipway completion bash)`` in a real bash, then its function, as on <TAB>."""
    (tmp_path / "apps.yaml").write_text(APP)
    assert run(["apply", "-f", str(tmp_path / "apps.yaml")], capsys)[0] == 0
    script = ('source <(shipway completion bash)\n'
              'COMP_WORDS=(shipway describe app ""); COMP_CWORD=3\n'
              '_shipway_completion shipway; printf "%s\\n" "${COMPREPLY[@]}"\n')  # fmt: skip
    env = {**os.environ, "PATH": f"{Path(SHIPWAY).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                          check=False, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["api", "web"]


def test_zsh_and_fish_get_names_through_their_protocols(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the zsh and fish scripts ask the program (neither shell is installed here)."""
    (tmp_path / "apps.yaml").write_text(APP)
    assert run(["apply", "-f", str(tmp_path / "apps.yaml")], capsys)[0] == 0
    base = {**os.environ}
    zsh = subprocess.run([SHIPWAY], capture_output=True, text=True, check=False, timeout=60,
                         env={**base, "_SHIPWAY_COMPLETE": "zsh_complete",
                              "COMP_WORDS": "shipway get applications w",
                              "COMP_CWORD": "3"})  # fmt: skip
    assert zsh.returncode == 0, zsh.stderr
    assert zsh.stdout.split("\n")[:3] == ["plain", "web", "_"]
    fish = subprocess.run([SHIPWAY], capture_output=True, text=True, check=False, timeout=60,
                          env={**base, "_SHIPWAY_COMPLETE": "fish_complete",
                               "COMP_WORDS": "shipway app logs ", "COMP_CWORD": ""})  # fmt: skip
    assert fish.returncode == 0, fish.stderr
    assert fish.stdout.splitlines() == ["plain,api", "plain,web"]


def test_help_lists_every_command_with_its_own_summary_without_loading_them() -> None:
    import inspect

    assert sorted(groups.SUMMARIES) == sorted(groups.COMMANDS)
    for name in groups.COMMANDS:
        command = groups.load(name)
        assert command is not None and not command.short_help, name
        first = inspect.cleandoc(command.help or "").split("\n\n")[0]
        assert groups.SUMMARIES[name] == " ".join(first.split()), name
    probe = (
        "import sys, io, contextlib\n"
        "from shipway.cli.main import main\n"
        "out = io.StringIO()\n"
        "try:\n    with contextlib.redirect_stdout(out):\n        main(['--help'])\n"
        "except SystemExit as e:\n    assert not e.code\n"
        "print(out.getvalue())\n"
        "from shipway.cli.groups import COMMANDS\n"
        "print(sorted(m for m in {t.partition(':')[0] for t in COMMANDS.values()}"
        " if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    *text, loaded = done.stdout.rstrip("\n").splitlines()
    assert loaded == "[]"  # no command's module was imported for the list
    listed = [ln.split()[0] for ln in text[text.index("Commands:") + 1 :] if ln.startswith("  ")]
    assert listed == sorted(groups.COMMANDS)
    assert any(ln.split()[:3] == ["describe", "Show", "an"] for ln in text)


def test_describe_ends_with_the_objects_own_events(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shipway.settings import Settings
    from shipway.store import events as store_events
    from shipway.store.db import open_store

    (tmp_path / "apps.yaml").write_text(APP)
    assert run(["apply", "-f", str(tmp_path / "apps.yaml")], capsys)[0] == 0
    store = open_store(Settings())
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3)
    try:
        web = ev.ObjectRef("Application", "web", "argocd")
        for i in range(2):
            store_events.emit(store, web, "SyncFailed", "boom [b]", type="Warning",
                              source="deploy", at=at + dt.timedelta(seconds=i))  # fmt: skip
        store_events.emit(store, ev.ObjectRef("Application", "api", "argocd"), "Synced", "other")
    finally:
        store.close()
    code, out, _ = run(["describe", "app", "web"], capsys)
    assert code == 0
    lines = out.splitlines()
    at_events = lines.index("Events:")
    assert lines[at_events + 1].split() == ["Type", "Reason", "Age", "From", "Message"]
    row = lines[at_events + 3]
    assert row.startswith("  Warning  SyncFailed  ") and row.endswith("  deploy  boom [b]"), row
    assert "(x2 over 3m" in row and len(lines) == at_events + 4  # last, and only web's
