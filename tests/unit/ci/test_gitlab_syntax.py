"""GitLab CI core: every problem at once with file:line:col; expressions; plans."""

from __future__ import annotations

import textwrap

import pytest

from shipway.ci.gitlab import expr
from shipway.ci.gitlab.model import duration
from shipway.ci.gitlab.pipeline import parse_pipeline
from shipway.ci.gitlab.plan import Context, glob_regex, plan_pipeline
from shipway.ci.gitlab.variables import Facts
from shipway.model.errors import InputError


def _parse(files: dict[str, str]):  # type: ignore[no-untyped-def]
    texts = {k: textwrap.dedent(v) for k, v in files.items()}
    return parse_pipeline(".gitlab-ci.yml", texts.get, list(texts))


def _errors(files: dict[str, str]) -> list[str]:
    with pytest.raises(InputError) as info:
        _parse(files)
    err = info.value
    return [str(err).split("\n")[0], *str(err).split("\n")[1:]]


def test_every_problem_at_once_with_positions() -> None:
    lines = _errors(
        {
            ".gitlab-ci.yml": """\
        stages: [build]
        a:
          stage: nope
          script: [echo]
          colour: red
        b:
          when: sometimes
          script: echo
        c:
          variables: {X: 1}
        d:
          script: echo
          needs: [ghost]
          rules:
            - if: '$A == "x" &&'
    """
        }
    )
    stage = "does not exist; available stages are .pre, build, .post"
    assert lines == [
        f".gitlab-ci.yml:3:3: jobs:a chosen stage nope {stage}",
        ".gitlab-ci.yml:5:3: jobs:a config contains unknown keys: colour",
        f".gitlab-ci.yml:6:1: jobs:b chosen stage test {stage}",
        ".gitlab-ci.yml:7:3: jobs:b:when config should be one of: on_success, on_failure, "
        "always, manual, delayed",
        ".gitlab-ci.yml:9:1: jobs:c config should implement the script:, run:, or trigger: keyword",
        f".gitlab-ci.yml:9:1: jobs:c chosen stage test {stage}",
        f".gitlab-ci.yml:11:1: jobs:d chosen stage test {stage}",
        ".gitlab-ci.yml:13:11: d job: undefined need: ghost",
        ".gitlab-ci.yml:15:7: invalid expression syntax: the expression ends too early "
        "(column 13 of '$A == \"x\" &&')",
    ]


def test_problems_point_into_included_files() -> None:
    lines = _errors({
        ".gitlab-ci.yml": "include: [{local: ci/a.yml}]\njob: {extends: .t}\n",
        "ci/a.yml": ".t:\n  script: [echo]\nbad:\n  script: echo\n  retry: 5\n",
    })  # fmt: skip
    assert lines == ["ci/a.yml:5:3: jobs:bad:retry config should be an integer between 0 and 2"]


def test_extends_cycle_and_unknown_parent() -> None:
    lines = _errors(
        {
            ".gitlab-ci.yml": """\
        .a: {extends: .b, script: [x]}
        .b: {extends: .a}
        j: {extends: .a}
        k: {extends: .nope, script: [y]}
    """
        }
    )
    assert any("circular dependency detected in extends" in line for line in lines)
    assert any(line.startswith(".gitlab-ci.yml:4:") and "'.nope'" in line for line in lines)


def test_extends_at_most_eleven_levels() -> None:
    chain = "\n".join(f".l{i}: {{extends: .l{i + 1}}}" for i in range(12))
    text = f"{chain}\n.l12: {{script: [x]}}\nj: {{extends: .l0}}\n"
    assert any("too deep" in line for line in _errors({".gitlab-ci.yml": text}))
    ok = "\n".join(f".l{i}: {{extends: .l{i + 1}}}" for i in range(9))
    pipe = _parse({".gitlab-ci.yml": f"{ok}\n.l9: {{script: [x]}}\nj: {{extends: .l0}}\n"})
    assert pipe.jobs["j"].script == ["x"]


def test_needs_cycle() -> None:
    lines = _errors(
        {".gitlab-ci.yml": "a: {script: [x], needs: [b]}\nb: {script: [y], needs: [a]}\n"}
    )
    assert any("needs form a cycle: a -> b -> a" in line for line in lines)


def test_bad_reference() -> None:
    lines = _errors({".gitlab-ci.yml": "j:\n  script:\n    - !reference [.nope, script]\n"})
    assert lines[0].startswith(".gitlab-ci.yml:3:7: !reference [.nope] could not be found")


@pytest.mark.parametrize(
    ("text", "env", "want"),
    [
        ('$A == "x"', {"A": "x"}, True),
        ('$A != "x"', {"A": "x"}, False),
        ("$A", {"A": ""}, False),
        ("$A", {"A": "1"}, True),
        ("$A == null", {}, True),
        ("$A == null", {"A": ""}, False),
        ('$A == ""', {"A": ""}, True),
        ("$B =~ /^rel/i", {"B": "Release-1"}, True),
        ("$B !~ /^rel/", {"B": "release"}, False),
        ("$B =~ $RE", {"B": "abc", "RE": "/b/"}, True),
        ('$A == "1" || $B == "2" && $C == "3"', {"A": "1"}, True),
        ('($A == "1" || $B == "2") && $C == "3"', {"A": "1"}, False),
        ("${A} == $B", {"A": "q", "B": "q"}, True),
        ("'single' == $A", {"A": "single"}, True),
    ],
)
def test_expressions(text: str, env: dict[str, str], want: bool) -> None:
    assert expr.evaluate(expr.parse(text), env) is want


def test_expression_syntax_errors_carry_columns() -> None:
    with pytest.raises(expr.ExprSyntax) as info:
        expr.parse('$A = "x"')
    assert info.value.column == 4
    with pytest.raises(expr.ExprSyntax):
        expr.parse('$A =~ "x"')


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1h 30m", 5400), ("10 minutes", 600), ("3600", 3600), (90, 90), ("2 hours 5 minutes", 7500),
     ("1 second", 1), ("nonsense", None), ("", None)],
)  # fmt: skip
def test_durations(text: object, seconds: int | None) -> None:
    assert duration(text) == seconds


def test_globs() -> None:
    assert glob_regex("docs/**/*").match("docs/a/b.md")
    assert glob_regex("**/*.py").match("x.py")
    assert glob_regex("src/*.py").match("src/a.py")
    assert not glob_regex("src/*.py").match("src/a/b.py")
    assert glob_regex("{a,b}.txt").match("b.txt")


def _plan(text: str, ref: str = "main", tag: bool = False, **vars: str):  # type: ignore[no-untyped-def]
    pipe = _parse({".gitlab-ci.yml": text})
    ctx = Context(Facts(sha="a" * 40, ref=ref, tag=tag), variables=vars)
    return {p.job.name: p for p in plan_pipeline(pipe, ctx).jobs}


def test_only_except_as_gitlab() -> None:
    text = "a: {script: [x], only: [tags]}\nb: {script: [x], except: [main]}\nc: {script: [x]}\n"
    on_main = _plan(text)
    assert (on_main["a"].when, on_main["b"].when, on_main["c"].when) == ("never", "never",
                                                                         "on_success")  # fmt: skip
    on_tag = _plan(text, ref="v1", tag=True)
    assert (on_tag["a"].when, on_tag["b"].when) == ("on_success", "on_success")
    text = "a: {script: [x], only: {variables: ['$GO == \"yes\"']}}\n"
    assert _plan(text)["a"].when == "never"
    assert _plan(text, GO="yes")["a"].when == "on_success"


def test_pipeline_variables_override_yaml_and_reach_rules() -> None:
    text = 'variables: {X: yaml}\nj:\n  script: [x]\n  rules:\n    - if: $X == "cli"\n'
    assert _plan(text)["j"].when == "never"
    assert _plan(text, X="cli")["j"].when == "on_success"


def test_matrix_names_as_gitlab_names_them() -> None:
    pipe = _parse(
        {
            ".gitlab-ci.yml": """\
        t:
          script: [x]
          parallel:
            matrix:
              - A: [1, 2]
                B: x
        p: {script: [x], parallel: 2}
    """
        }
    )
    assert list(pipe.jobs) == ["t: [1, x]", "t: [2, x]", "p 1/2", "p 2/2"]
    assert pipe.jobs["t: [2, x]"].variables == {"A": "2", "B": "x"}
    assert (pipe.jobs["p 2/2"].node_index, pipe.jobs["p 2/2"].node_total) == (2, 2)


def test_variable_expansion_and_expand_false() -> None:
    from shipway.ci.gitlab.variables import job_env

    pipe = _parse(
        {
            ".gitlab-ci.yml": """\
        variables:
          BASE: /opt
          RAW: {value: $BASE/raw, expand: false}
        j:
          variables: {FULL: "${BASE}/app", KEEP: {value: $$HOME-$BASE, expand: false}}
          script: [x]
    """
        }
    )
    env = job_env({"CI": "true"}, pipe.jobs["j"], {}, {"DOT": "d"}, {"BASE": "/cli"})
    assert (env["FULL"], env["RAW"], env["KEEP"], env["DOT"]) == (
        "/cli/app", "$BASE/raw", "$$HOME-$BASE", "d")  # fmt: skip
    assert env["BASE"] == "/cli"  # pipeline variables win


def test_a_need_left_out_by_rules_is_refused() -> None:
    text = """\
        stages: [a, b]
        gen: {stage: a, script: [x], rules: [{if: $MAKE}]}
        use: {stage: b, script: [y], needs: [gen]}
        opt: {stage: b, script: [y], needs: [{job: gen, optional: true}]}
    """
    pipe = _parse({".gitlab-ci.yml": text})
    plan = plan_pipeline(pipe, Context(Facts(sha="a" * 40, ref="main")))
    assert plan.errors == [".gitlab-ci.yml:3:1: 'use' job needs 'gen' job, but 'gen' is not in "
                           "any previous stage"]  # fmt: skip
    plan = plan_pipeline(pipe, Context(Facts(sha="a" * 40, ref="main"), variables={"MAKE": "1"}))
    assert plan.errors == []


def test_needs_on_some_instances_of_a_matrix() -> None:
    from shipway.ci.neutral.gitlab import compile_pipeline

    pipe = _parse(
        {
            ".gitlab-ci.yml": """\
        stages: [build, test]
        build:
          stage: build
          script: [x]
          parallel:
            matrix:
              - OS: [linux, bsd]
        test:
          stage: test
          script: [y]
          needs:
            - job: build
              parallel:
                matrix:
                  - OS: linux
        all: {stage: test, script: [z], needs: [build]}
    """
        }
    )
    plan = plan_pipeline(pipe, Context(Facts(sha="a" * 40, ref="main")))
    nodes = compile_pipeline(pipe, plan).nodes
    assert nodes["test"].parents == ["build: [linux]"]
    assert nodes["all"].parents == ["build: [linux]", "build: [bsd]"]
    bad = "a: {script: [x], parallel: {matrix: [{V: [1]}]}}\nb: {script: [y], needs: " \
          "[{job: a, parallel: {matrix: [{V: '2'}]}}]}\n"  # fmt: skip
    assert any("names no instance" in line for line in _errors({".gitlab-ci.yml": bad}))
