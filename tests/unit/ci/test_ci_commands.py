"""Secret masking, workflow commands and the runner's key=value files."""

from __future__ import annotations

import pytest

from shipway.ci.commands import FileFormatError, Masker, parse_command, parse_env_file


def test_masker_hides_values_and_lines_of_multiline_secrets() -> None:
    m = Masker()
    m.add("hunter2")
    m.add("line-one\nline-two")
    assert m.mask("pw=hunter2 x") == "pw=*** x"
    assert m.mask("line-two and line-one") == "*** and ***"
    m.add("hunter")
    assert m.mask("hunter2 hunter") == "*** ***"


def test_parse_command() -> None:
    cmd = parse_command("::error file=a.py,line=3::bad%0Athing")
    assert cmd is not None
    assert (cmd.name, cmd.props, cmd.message) == (
        "error",
        {"file": "a.py", "line": "3"},
        "bad\nthing",
    )
    assert parse_command("just text :: here") is None
    assert parse_command("::endgroup::") is not None


def test_env_file_with_heredoc() -> None:
    text = "A=1\nB<<EOF\nx\ny=z\nEOF\nC=a=b\n"
    assert parse_env_file(text) == [("A", "1"), ("B", "x\ny=z"), ("C", "a=b")]
    with pytest.raises(FileFormatError):
        parse_env_file("B<<EOF\nno end\n")
    with pytest.raises(FileFormatError):
        parse_env_file("junk\n")
