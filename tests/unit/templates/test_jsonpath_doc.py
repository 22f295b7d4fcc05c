"""kubectl's JSONPath, on the input and examples of kubectl's JSONPath reference page.

The page (kubernetes.io/docs/reference/kubectl/jsonpath) still shows maps as
``map[cpu:4]`` and a wildcard's names in brackets; kubectl 1.32 prints maps
as JSON and the names space-separated (``test_jsonpath_kubectl`` runs the
real binary on the same input), so the expected texts are kubectl's.
"""

from __future__ import annotations

import pytest

from shipway.templates import jsonpath
from shipway.templates.errors import JSONPathError

DOC = {
    "kind": "List",
    "items": [
        {
            "kind": "None",
            "metadata": {"name": "127.0.0.1", "labels": {"kubernetes.io/hostname": "127.0.0.1"}},
            "status": {
                "capacity": {"cpu": "4"},
                "addresses": [{"type": "LegacyHostIP", "address": "127.0.0.1"}],
            },
        },
        {
            "kind": "None",
            "metadata": {"name": "127.0.0.2"},
            "status": {
                "capacity": {"cpu": "8"},
                "addresses": [
                    {"type": "LegacyHostIP", "address": "127.0.0.2"},
                    {"type": "another", "address": "127.0.0.3"},
                ],
            },
        },
    ],
    "users": [
        {"name": "myself", "user": {}},
        {"name": "e2e", "user": {"username": "admin", "password": "secret"}},
    ],
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("kind is {.kind}", "kind is List"),
        ("{.kind}", "List"),
        ("{['kind']}", "List"),
        ("{..name}", "127.0.0.1 127.0.0.2 myself e2e"),
        ("{.items[*].metadata.name}", "127.0.0.1 127.0.0.2"),
        ("{.users[0].name}", "myself"),
        (
            "{.items[*]['metadata.name', 'status.capacity']}",
            '127.0.0.1 127.0.0.2 {"cpu":"4"} {"cpu":"8"}',
        ),
        ('{.users[?(@.name=="e2e")].user.password}', "secret"),
        (
            "{range .items[*]}[{.metadata.name}, {.status.capacity}] {end}",
            '[127.0.0.1, {"cpu":"4"}] [127.0.0.2, {"cpu":"8"}] ',
        ),
        ("{range .items[*]}{.metadata.name}{'\\t'}{end}", "127.0.0.1\t127.0.0.2\t"),
        ("{.items[0].metadata.labels.kubernetes\\.io/hostname}", "127.0.0.1"),
        # the page's slices: negative indices count from the end, never wrap around
        ("{.items[-1].metadata.name}", "127.0.0.2"),
        ("{.items[1].status.addresses[-2:].address}", "127.0.0.2 127.0.0.3"),
        ("{.items[1].status.addresses[0:2:2].type}", "LegacyHostIP"),
        ("{$.kind}", "List"),
        ("{.users[?(@.user.password)].name}", "e2e"),
    ],
)
def test_the_reference_pages_examples(template: str, expected: str) -> None:
    assert jsonpath.compile(template).execute(DOC) == expected


def test_at_is_the_input_printed_as_json() -> None:
    out = jsonpath.compile("{@}").execute(DOC)
    assert out.startswith('{"items":[{"kind":"None","metadata":{"labels":')
    assert out == jsonpath.compile("{}").execute(DOC)


def test_regular_expressions_are_not_supported() -> None:
    """The page: ``=~`` is refused (``=`` then a ``~`` kubectl cannot read)."""
    with pytest.raises(JSONPathError, match="unrecognized character in action: U\\+007E '~'"):
        jsonpath.compile("{.items[?(@.metadata.name=~/^test$/)].metadata.name}").execute(DOC)


@pytest.mark.parametrize(
    ("template", "phase", "reason"),
    [
        ("{.kind", "parse", "unclosed action"),
        ("{.items[0}", "parse", "unterminated array"),
        ("{.items[x]}", "parse", "invalid array index x"),
        ('{"abc}', "parse", "unterminated quoted string"),
        ("{.a,.b}", "parse", "unrecognized character in action: U+002C ','"),
        ("{\t.a}", "parse", "unrecognized character in action: U+0009"),
        ("{....a}", "parse", "invalid multiple recursive descent"),
        ("{1.2.3}", "parse", "cannot parse number 1.2.3"),
        ("{end}", "exec", "not in range, nothing to end"),
        ("{.items[5]}", "exec", "array index out of bounds: index 5, length 2"),
        ("{.items[0:3]}", "exec", "array index out of bounds: index 2, length 2"),
        ("{.items[0:2:0]}", "exec", "step must be > 0"),
        ("{.kind[0]}", "exec", "string is not array or slice"),
        ("{.users[?(@.name==1)]}", "exec", "incompatible types for comparison"),
        ("{.users[?(@.user<1)]}", "exec", "invalid type for comparison"),
        ("{nosuch}", "exec", "unrecognized identifier nosuch"),
    ],
)
def test_errors_carry_kubectls_reason(template: str, phase: str, reason: str) -> None:
    with pytest.raises(JSONPathError) as caught:
        jsonpath.compile(template).execute(DOC)
    assert (caught.value.phase, caught.value.reason) == (phase, reason)
    word = "parsing" if phase == "parse" else "executing"
    assert str(caught.value).startswith(f"error {word} jsonpath ")


def test_missing_keys_print_nothing_and_null_prints_null() -> None:
    data = {"a": None, "b": [1, 2.5, True, "x"]}
    assert jsonpath.compile("{.nosuch}|{.a}|{.b[*]}|{.b}").execute(data) == (
        '|null|1 2.5 true x|[1,2.5,true,"x"]'
    )


def test_numbers_print_as_go_does() -> None:
    data = {"f": [1234567.0, 1e-7, 0.5, 100000.0], "i": 123456789, "s": "<&>"}
    assert jsonpath.compile("{.f[*]} {.i} {.s} {.f}").execute(data) == (
        "1.234567e+06 1e-07 0.5 100000 123456789 <&> [1234567,1e-7,0.5,100000]"
    )


def test_nested_ranges_and_text_after_end() -> None:
    data = {"a": [{"b": [1, 2]}, {"b": [3]}], "t": "done"}
    tpl = "{range .a[*]}<{range .b[*]}{@},{end}>{end} {.t}"
    assert jsonpath.compile(tpl).execute(data) == "<1,2,><3,> done"


def test_relaxed_expressions_as_custom_columns_read_them() -> None:
    for expr in ("metadata.name", ".metadata.name", "{metadata.name}", "{.metadata.name}"):
        assert jsonpath.relaxed(expr) == "{.metadata.name}"
    with pytest.raises(JSONPathError, match="unexpected path string"):
        jsonpath.relaxed("{.a}{.b}")
