"""Dockerfile parsing: stages, continuations, flags, JSON forms, line numbers, variables."""

from __future__ import annotations

import pytest

from shipway.images.build.dockerfile import expand, key_values, parse, split_words
from shipway.model.errors import InputError

TEXT = """\
# syntax=docker/dockerfile:1
ARG BASE=scratch
FROM $BASE AS build
# a comment
COPY --chown=1:2 a \\
     b /dst/
RUN echo hi
FROM build
CMD ["/bin/sh", "-c", "echo"]
ENTRYPOINT echo shell form
"""


def test_stages_and_instructions_keep_lines() -> None:
    df = parse(TEXT, "Containerfile")
    assert [a.rest for a in df.global_args] == ["BASE=scratch"]
    assert [(s.base, s.name, s.line) for s in df.stages] == [
        ("$BASE", "build", 3),
        ("build", None, 8),
    ]
    copy = df.stages[0].instructions[0]
    assert (copy.cmd, copy.line, copy.flags, copy.rest) == (
        "COPY",
        5,
        {"chown": "1:2"},
        "a      b /dst/",  # Docker keeps a continuation line's leading whitespace
    )
    assert df.stages[1].instructions[0].json_args == ["/bin/sh", "-c", "echo"]
    assert df.stages[1].instructions[1].json_args is None
    assert df.stage("build").index == 0
    assert df.stage(None).index == 1


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("FROM scratch\nBOGUS x\n", 2),
        ("COPY a b\n", 1),
        ("FROM scratch\n\nCOPY\n", 3),
        ("FROM a b c d\n", 1),
        ("FROM scratch\nSHELL sh -c\n", 2),
        ("# comment only\n", 1),
    ],
)
def test_errors_name_the_line(text: str, line: int) -> None:
    with pytest.raises(InputError) as err:
        parse(text, "Dockerfile")
    assert err.value.subject == f"Dockerfile:{line}"


def test_unknown_target_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no build stage"):
        parse("FROM scratch\n").stage("nope")


def test_escape_directive() -> None:
    df = parse("# escape=`\nFROM scratch\nLABEL a=1 `\n  b=2\n")
    assert df.stages[0].instructions[0].rest == "a=1   b=2"


def test_continuations_join_as_docker_joins_them() -> None:
    """The escape and trailing blanks are cut and the next line appended as it is: no
    space is added, blank and comment lines inside are skipped (Docker's parser)."""
    df = parse("FROM scratch\nRUN echo a\\\nb \\  \n\n# note\n  c\n")
    assert df.stages[0].instructions[0].rest == "echo ab   c"


def test_expand_variables() -> None:
    env = {"A": "x", "EMPTY": ""}
    assert expand("$A/${A}/${B:-dflt}/${A:+alt}/${EMPTY:-e}/\\$A", env) == "x/x/dflt/alt/e/$A"
    assert expand("${MISSING}end", env) == "end"


def test_words_and_key_values() -> None:
    assert split_words("a \"b c\" 'd'") == ["a", "b c", "d"]
    assert key_values('A=1 B="two words"', "ENV", "f", 1) == [("A", "1"), ("B", "two words")]
    assert key_values("A legacy value", "ENV", "f", 1) == [("A", "legacy value")]
    with pytest.raises(InputError):
        key_values("A=1 B", "LABEL", "f", 3)


def test_heredocs() -> None:
    df = parse(
        "FROM scratch\nRUN <<EOF\necho a\n  echo b\nEOF\nRUN python3 <<'PY' > out\nprint(1)\nPY\n"
        "LABEL after=1\n"
    )
    run1, run2, label = df.stages[0].instructions
    assert run1.heredocs == (("EOF", "echo a\n  echo b\n"),)
    assert (run2.rest, run2.heredocs) == ("python3 <<'PY' > out", (("PY", "print(1)\n"),))
    assert (label.cmd, label.line) == ("LABEL", 9)
    with pytest.raises(InputError, match="not terminated") as err:
        parse("FROM scratch\nRUN <<EOF\necho\n")
    assert err.value.subject == "Dockerfile:2"
