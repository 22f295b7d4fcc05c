"""Config instructions, .dockerignore matching, ARG/ENV expansion rules."""

from __future__ import annotations

import pytest

from shipway.images.build import ignore
from shipway.images.build.dockerfile import parse
from shipway.images.build.instructions import ImageState, apply_config, duration_ns
from shipway.model.errors import InputError


def _apply(text: str, st: ImageState | None = None) -> ImageState:
    st = st or ImageState()
    for ins in parse("FROM scratch\n" + text).stages[0].instructions:
        assert apply_config(st, ins, "Dockerfile")
    return st


def test_config_instructions() -> None:
    st = _apply(
        "ENV A=1 B=two\nENV A=3\nLABEL l=$A\nWORKDIR /app\nWORKDIR sub\nUSER 1000:1000\n"
        'EXPOSE 80 53/udp\nVOLUME ["/data"]\nSTOPSIGNAL SIGINT\nCMD echo hi\n'
        'SHELL ["/bin/bash", "-c"]\nENTRYPOINT run.sh\n'
        'HEALTHCHECK --interval=1m30s --timeout=500ms --retries=2 CMD ["/bin/check"]\n'
        "ONBUILD COPY . /src\n"
    )
    c = st.config
    assert c["Env"] == ["A=3", "B=two"]  # a variable set again keeps its place, as on Docker
    assert c["Labels"] == {"l": "3"}
    assert c["WorkingDir"] == "/app/sub"
    assert c["User"] == "1000:1000"
    assert c["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert c["Volumes"] == {"/data": {}}
    assert c["StopSignal"] == "SIGINT"
    assert c["Cmd"] == ["/bin/sh", "-c", "echo hi"]  # set in this stage: kept
    assert c["Entrypoint"] == ["/bin/bash", "-c", "run.sh"]
    assert c["Healthcheck"] == {
        "Test": ["CMD", "/bin/check"],
        "Interval": 90 * 10**9,
        "Timeout": 500 * 10**6,
        "Retries": 2,
    }
    assert c["OnBuild"] == ["COPY . /src"]


def test_entrypoint_keeps_a_cmd_set_in_the_same_stage_only() -> None:
    st = ImageState(config={"Cmd": ["inherited"]})
    assert "Cmd" not in _apply('ENTRYPOINT ["/e"]\n', st).config
    st = _apply('CMD ["/c"]\nENTRYPOINT ["/e"]\n')
    assert st.config["Cmd"] == ["/c"]


def test_healthcheck_none_and_bad_input() -> None:
    assert _apply("HEALTHCHECK NONE\n").config["Healthcheck"] == {"Test": ["NONE"]}
    with pytest.raises(InputError, match="HEALTHCHECK"):
        _apply("HEALTHCHECK echo\n")
    with pytest.raises(InputError, match="ONBUILD FROM"):
        _apply("ONBUILD FROM x\n")
    with pytest.raises(InputError, match="duration"):
        duration_ns("10 parsecs", "f:1")


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        ("*.md", "README.md", True),
        ("*.md", "docs/a.md", False),
        ("**/*.md", "docs/a.md", True),
        ("node_modules", "node_modules/x/y.js", True),
        ("docs\n!docs/keep.md", "docs/keep.md", False),
        ("docs\n!docs/keep.md", "docs/other.md", True),
        ("/build/", "build/out", True),
        ("# comment\n\n", "anything", False),
        ("a?c", "abc", True),
        ("[a-c]x", "bx", True),
    ],
)
def test_dockerignore(patterns: str, path: str, excluded: bool) -> None:
    assert ignore.excluded(ignore.parse(patterns), path) is excluded
