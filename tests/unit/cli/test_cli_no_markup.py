"""User text is printed as written, never read as rich markup, and no traceback escapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.cli import output
from shipway.cli.main import main

KIND_LIST = b"apiVersion: v1\nkind: [Application]\nmetadata: {name: x}\n"
WIDE_ALIASES = b"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [" + b"*a, " * 10_000 + b"*a]\n"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0), capsys.readouterr().err


def test_an_error_with_brackets_prints_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_HOME", str(tmp_path / "home"))
    missing = str(tmp_path / "app[/path]@[bold]ref[/].yaml")
    code, err = _run(["apply", "-f", missing], capsys)
    assert code == 2
    assert f"error: {missing}: no such file or directory" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "body", "want"),
    [
        ("bin.yaml", b"kind: x\nname: \xff\n", "bin.yaml:2:7: not UTF-8 text"),
        ("kind.yaml", KIND_LIST, "kind.yaml:2:1: kind must be a string"),
        ("lol.yaml", WIDE_ALIASES, "lol.yaml:2:"),
    ],
)
def test_bad_files_get_file_and_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    body: bytes,
    want: str,
) -> None:
    monkeypatch.setenv("SHIPWAY_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(body)
    code, err = _run(["apply", "-f", name], capsys)
    assert code == 2
    assert want in err and "Traceback" not in err


def test_table_cells_are_literal(capsys: pytest.CaptureFixture[str]) -> None:
    output.table(["name"], [["[red]x[/red] [/oops]"]])
    assert "[red]x[/red] [/oops]" in capsys.readouterr().out
