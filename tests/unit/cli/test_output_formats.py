"""The output module: -o formats, custom columns, --sort-by, --field-selector, fit, colour."""

from __future__ import annotations

import json
from typing import Any

import click
import pytest
from click.testing import CliRunner

from shipway.cli import output as out
from shipway.cli import printers
from shipway.model import selectors
from shipway.model.errors import InputError
from shipway.templates.errors import JSONPathError

APPS: list[dict[str, Any]] = [
    {"metadata": {"name": "web-10", "labels": {"tier": "front"}},
     "status": {"sync": {"status": "OutOfSync"}, "health": {"status": "Healthy"}, "n": 3}},
    {"metadata": {"name": "web-9"},
     "status": {"sync": {"status": "Synced"}, "health": {"status": "Degraded"}, "n": 12}},
    {"metadata": {"name": "api"}, "status": {"sync": {"status": "Synced"}}},
]  # fmt: skip


def _row(a: dict[str, Any]) -> list[Any]:
    st = a.get("status") or {}
    return [a["metadata"]["name"], (st.get("sync") or {}).get("status", ""),
            (st.get("health") or {}).get("status", "")]  # fmt: skip


@click.command()
@out.list_options
@out.watch_option
@click.pass_context
def demo(ctx: click.Context, /, watch: bool, **_: Any) -> None:
    out.report(APPS, out.Options.of(ctx), table=out.rows_table(["name", "sync", "health"], _row),
               name="application")  # fmt: skip


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    from shipway.cli.root import run

    @click.group()
    def root() -> None:
        pass

    root.add_command(demo)
    runner = CliRunner(env={"COLUMNS": "", "SHIPWAY_COLOR": "", **(env or {})})
    res = runner.invoke(root, ["demo", *args], catch_exceptions=True)
    if isinstance(res.exception, InputError):
        return res.exception.exit_code, str(res.exception)
    assert run  # the CLI's error printer is tested in test_cli_errors
    return res.exit_code, res.output


def test_table_is_kubectls_tabwriter() -> None:
    code, text = invoke()
    assert code == 0
    assert text.splitlines() == [
        "NAME     SYNC        HEALTH",
        "web-10   OutOfSync   Healthy",
        "web-9    Synced      Degraded",
        "api      Synced",
    ]
    assert invoke("--no-headers")[1].splitlines()[0].startswith("web-10   OutOfSync")


def test_json_and_yaml_of_a_list_are_a_List() -> None:
    data = json.loads(invoke("-o", "json")[1])
    assert data == {"apiVersion": "v1", "kind": "List", "items": APPS}
    import yaml

    assert yaml.safe_load(invoke("-o", "yaml")[1]) == data


def test_name_jsonpath_and_custom_columns() -> None:
    assert invoke("-o", "name")[1].split() == [
        "application/web-10", "application/web-9", "application/api"]  # fmt: skip
    assert invoke("-o", "jsonpath={.items[*].metadata.name}")[1] == "web-10 web-9 api"
    assert invoke("-o", "jsonpath-as-json={.items[0].status.n}")[1] == "[\n    3\n]\n"
    code, text = invoke("-o", "custom-columns=NAME:.metadata.name,N:status.n,TIER:.metadata.labels")
    assert code == 0
    assert text.splitlines() == [
        "NAME     N        TIER",
        "web-10   3        map[tier:front]",
        "web-9    12       <none>",
        "api      <none>   <none>",
    ]


def test_template_files(tmp_path: Any) -> None:
    (tmp_path / "t.txt").write_text("{range .items[*]}{.metadata.name};{end}")
    (tmp_path / "c.txt").write_text("NAME   SYNC\n.metadata.name   .status.sync.status\n")
    assert invoke("-o", f"jsonpath-file={tmp_path / 't.txt'}")[1] == "web-10;web-9;api;"
    assert invoke("-o", f"custom-columns-file={tmp_path / 'c.txt'}", "--no-headers")[1] == (
        "web-10   OutOfSync\nweb-9    Synced\napi      Synced\n"
    )
    code, text = invoke("-o", f"jsonpath-file={tmp_path / 'missing'}")
    assert code == 2 and "error reading template" in text


def test_bad_formats_get_kubectls_messages() -> None:
    code, text = invoke("-o", "bogus")
    assert code == 2
    assert text.startswith(
        'unable to match a printer suitable for the output format "bogus", '
        "allowed formats are: custom-columns,custom-columns-file,json,"
    )
    assert invoke("-o", "custom-columns=")[1] == (
        "custom-columns format specified but no custom columns given"
    )
    assert invoke("-o", "custom-columns=NAME")[1] == (
        "unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>"
    )
    code, text = invoke("-o", "jsonpath={.items[0]")
    assert code == 2 and text == "error parsing jsonpath {.items[0], unclosed action"
    code, text = invoke("-o", "jsonpath={.items[7]}")
    assert code == 2 and text.startswith('error executing jsonpath "{.items[7]}": ')


def test_sort_by_puts_missing_fields_first() -> None:
    assert invoke("--sort-by", ".metadata.name", "-o", "name")[1].split() == [
        "application/api", "application/web-10", "application/web-9"]  # fmt: skip
    assert invoke("--sort-by", "{.status.n}", "-o", "name")[1].split() == [
        "application/api", "application/web-10", "application/web-9"]  # fmt: skip
    code, text = invoke("--sort-by", ".nosuch")
    assert code == 2
    assert text == "couldn't find any field with path '.nosuch' in the list of objects"


def test_field_selector() -> None:
    names = invoke("--field-selector", "status.sync.status=Synced", "-o", "name")[1].split()
    assert names == ["application/web-9", "application/api"]
    sel = "status.sync.status==Synced,metadata.name!=api"
    assert invoke("--field-selector", sel, "-o", "name")[1].split() == ["application/web-9"]
    # a missing field is the empty string, so != matches it
    sel = "status.health.status!=Healthy"
    assert invoke("--field-selector", sel, "-o", "name")[1].split() == [
        "application/web-9", "application/api"]  # fmt: skip
    assert selectors.field_matcher("status.n=3")(APPS[0])
    assert selectors.field_matcher(".spec.ok=true")({"spec": {"ok": True}})
    with pytest.raises(InputError, match=r"invalid field selector 'status\.sync\.status'"):
        selectors.field_matcher("status.sync.status")


def test_tables_fit_the_width_shortening_the_rightmost_columns_never_names() -> None:
    health = {"status": "Progressing and a very long message " * 3}
    long = [{"metadata": {"name": "a-really-long-application-name"},
             "status": {"sync": {"status": "OutOfSync"}, "health": health}}]  # fmt: skip
    heads = ["NAME", "SYNC", "HEALTH"]
    rows = [_row(a) for a in long]
    widths = printers.fit(printers.widths([heads, *[[str(c) for c in r] for r in rows]]), heads, 60)
    assert widths[0] == len("a-really-long-application-name")
    total = sum(max(w + 3, 6) for w in widths[:-1]) + widths[-1]
    assert total <= 60


def test_fitting_and_colour_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    monkeypatch.setenv("SHIPWAY_COLOR", "never")
    rows = [["a-really-long-application-name", "OutOfSync", "Degraded because of " * 5]]
    text, _ = out.table_lines(["name", "sync", "health"], rows)
    assert all(len(line) <= 50 for line in text), text
    assert text[1].startswith("a-really-long-application-name   OutOfSy")
    assert text[1].endswith(("…", "~"))
    monkeypatch.setenv("COLUMNS", "20")  # too narrow: the name stays whole all the same
    text, _ = out.table_lines(["name", "sync"], rows)
    assert text[1].startswith("a-really-long-application-name   ")
    text, _ = out.table_lines(["name", "sync", "health"], rows, fit=False)  # -o wide
    assert text[1].endswith("because of")
    monkeypatch.setenv("SHIPWAY_COLOR", "always")
    text, _ = out.table_lines(["name", "health"], [["web", "Degraded"], ["api", "Healthy"]])
    assert text[1] == "web    \x1b[31mDegraded\x1b[0m"
    assert text[2] == "api    \x1b[32mHealthy\x1b[0m"
    monkeypatch.setenv("SHIPWAY_COLOR", "")
    monkeypatch.setenv("NO_COLOR", "1")
    assert not out.use_colour()


def test_user_text_is_printed_as_it_is() -> None:
    text, _ = out.table_lines(["name", "status"], [["[bold]x[/bold]", "Synced"]], fit=False)
    assert "[bold]x[/bold]" in text[1]


def test_watch_prints_changed_objects_and_ends_on_ctrl_c(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("SHIPWAY_COLOR", "never")
    first = [APPS[0], APPS[2]]
    changed = {**APPS[2], "status": {"sync": {"status": "OutOfSync"}}}
    rounds: list[list[dict[str, Any]]] = [first, first, [APPS[0], changed, APPS[1]]]

    def fetch() -> list[dict[str, Any]]:
        if not rounds:
            raise KeyboardInterrupt
        return rounds.pop(0)

    table = out.rows_table(["name", "sync", "health"], _row)
    out.watch(fetch, "table", table=table, name="application", interval=0)
    assert capsys.readouterr().out.splitlines() == [
        "NAME     SYNC        HEALTH",
        "web-10   OutOfSync   Healthy",
        "api      Synced",
        "api      OutOfSync",
        "web-9    Synced      Degraded",
    ]
    rounds[:] = [first, [changed]]  # api changes; web-10 is deleted: its last state prints
    out.watch(fetch, "name", table=table, name="application", interval=0)
    printed = capsys.readouterr().out.split()
    assert printed == ["application/web-10", "application/api", "application/api",
                       "application/web-10"]  # fmt: skip


def test_watch_events_as_kubectl_output_watch_events(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("SHIPWAY_COLOR", "never")
    changed = {**APPS[2], "status": {"sync": {"status": "OutOfSync"}}}
    rounds: list[list[dict[str, Any]]] = [[APPS[0], APPS[2]], [changed, APPS[1]]]

    def fetch() -> list[dict[str, Any]]:
        if not rounds:
            raise KeyboardInterrupt
        return rounds.pop(0)

    table = out.rows_table(["name", "sync", "health"], _row)
    events = out.Options("table", watch_events=True)
    out.watch(fetch, events, table=table, name="application", interval=0)
    assert capsys.readouterr().out.splitlines() == [
        "EVENT      NAME     SYNC        HEALTH",
        "ADDED      web-10   OutOfSync   Healthy",
        "ADDED      api      Synced",
        "MODIFIED   api      OutOfSync",
        "ADDED      web-9    Synced      Degraded",
        "DELETED    web-10   OutOfSync   Healthy",
    ]
    rounds[:] = [[APPS[2]], []]
    out.watch(fetch, out.Options("json", watch_events=True), table=table, name="application",
              interval=0)  # fmt: skip
    text = capsys.readouterr().out
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text.rstrip()):
        obj, at = decoder.raw_decode(text, at)
        found.append((obj["type"], obj["object"]["metadata"]["name"]))
        at += len(text[at:]) - len(text[at:].lstrip())
    assert found == [("ADDED", "api"), ("DELETED", "api")]


def test_jsonpath_errors_are_bad_input() -> None:
    with pytest.raises(JSONPathError) as info:
        printers.custom_columns("A:{.x")
    assert info.value.exit_code == 2


def test_columns_are_left_out_when_shortening_is_not_enough(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shipway.cli.list_views import APP_COLUMNS

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("SHIPWAY_COLOR", "never")
    row = ["web", "local", "web", "default", "OutOfSync", "Progressing", "Auto-Prune",
           "git://127.0.0.1/config.git", "apps/web", "HEAD"]  # fmt: skip
    text, _ = out.table_lines(APP_COLUMNS, [row])
    assert all(len(line) <= 80 for line in text), text
    assert text[0].split() == ["NAME", "CLUSTER", "NAMESPACE", "PROJECT", "STATUS", "HEALTH",
                               "SYNCPOLICY"]  # fmt: skip
    assert text[1].split()[4:] == ["OutOfSync", "Progressing", "Auto-Prune"]  # status whole
    monkeypatch.setenv("COLUMNS", "90")  # room for REPO, shortened
    text, _ = out.table_lines(APP_COLUMNS, [row])
    assert all(len(line) <= 90 for line in text), text
    assert text[0].split()[-2:] == ["REPO", "PATH"]  # TARGET, the rightmost, left out
    assert text[1].split()[-2] in ("git…", "git~")
    monkeypatch.setenv("COLUMNS", "200")
    assert out.table_lines(APP_COLUMNS, [row])[0][1].endswith("apps/web   HEAD")
