"""sprig functions as its docs (masterminds.github.io/sprig) and Argo CD's docs show them."""

from __future__ import annotations

from typing import Any

import pytest

from shipway.templates.gotemplate import Limits, TemplateError, render, sprig_funcs
from shipway.templates.gotime import GoTime

F = sprig_funcs()
D: dict[str, Any] = {
    "name": "guestbook",
    "empty": "",
    "list": ["b", "a", "c", "a"],
    "d": {"k": "v", "n": 1},
    "nested": {"a": {"b": {"c": "deep"}}},
    "num": 3,
    "path": {"basename": "app1", "segments": ["apps", "app1"], "path": "apps/app1"},
}

CASES = [
    # defaults and flow
    ('{{ .empty | default "foo" }}', "foo"),
    ('{{ .name | default "foo" }}', "guestbook"),
    ('{{ .missing | default "foo" }}', "foo"),
    ('{{ default "x" 0 }} {{ default "x" false }} {{ default "x" (list) }}', "x x x"),
    (
        "{{ empty .empty }} {{ empty .name }} {{ empty 0 }} {{ empty (dict) }}",
        "true false true true",
    ),
    ('{{ coalesce .missing .empty "c" }}', "c"),
    ('{{ ternary "yes" "no" true }} {{ ternary "yes" "no" false }}', "yes no"),
    ('{{ true | ternary "a" "b" }}', "a"),
    # strings
    (
        '{{ upper "hello" }} {{ lower "HeLLo" }} {{ title "hello world" }}',
        "HELLO hello Hello World",
    ),
    (
        '{{ trim "   hi  " }}|{{ trimAll "$" "$5.00$" }}|{{ trimPrefix "v" "v1.2.3" }}',
        "hi|5.00|1.2.3",
    ),
    (
        '{{ trimSuffix "-" "hello-" }} {{ trunc 5 "hello world" }} {{ trunc -5 "hello world" }}',
        "hello hello world",
    ),
    ('{{ replace " " "-" "I Am Henry VIII" }}', "I-Am-Henry-VIII"),
    (
        '{{ contains "cat" "catch" }} {{ hasPrefix "cat" "catch" }} {{ hasSuffix "ch" "catch" }}',
        "true true true",
    ),
    (
        '{{ quote "a" "b\\"c" }} {{ squote "x" }} {{ cat "hello" "beautiful" "world" }}',
        '"a" "b\\"c" \'x\' hello beautiful world',
    ),
    ('{{ indent 4 "a\\nb" }}', "    a\n    b"),
    ('x{{ nindent 2 "a" }}', "x\n  a"),
    (
        '{{ repeat 3 "ab" }} {{ substr 0 5 "hello world" }} {{ substr 6 -1 "hello world" }}',
        "ababab hello world",
    ),
    (
        '{{ nospace "h e l l o" }} {{ abbrev 5 "hello world" }} {{ initials "First Try" }}',
        "hello he... FT",
    ),
    (
        '{{ snakecase "FirstName" }} {{ kebabcase "FirstName" }} {{ camelcase "http_server" }}',
        "first_name first-name HttpServer",
    ),
    (
        '{{ plural "one anchovy" "many anchovies" 1 }}, {{ plural "one" "many" 2 }}',
        "one anchovy, many",
    ),
    (
        '{{ splitList "$" "foo$bar$baz" }} {{ (split "$" "foo$bar").a_0 }}{{ (split "$" "foo$bar")._1 }}',
        "[foo bar baz] <no value>bar",
    ),
    ('{{ join "_" .list }} {{ join "," (list 1 2) }}', "b_a_c_a 1,2"),
    ("{{ toString 5 }} {{ toString 1.5 }} {{ toString true }}", "5 1.5 true"),
    # lists
    (
        "{{ list 1 2 3 }} {{ first .list }} {{ last .list }} {{ rest (list 1 2 3) }}",
        "[1 2 3] b a [2 3]",
    ),
    (
        "{{ initial (list 1 2 3) }} {{ append (list 1 2) 3 }} {{ prepend (list 1 2) 0 }}",
        "[1 2] [1 2 3] [0 1 2]",
    ),
    (
        "{{ uniq .list }} {{ sortAlpha .list }} {{ reverse (list 1 2 3) }}",
        "[b a c] [a a b c] [3 2 1]",
    ),
    ('{{ has "a" .list }} {{ has "z" .list }} {{ without (list 1 2 3) 2 }}', "true false [1 3]"),
    ('{{ compact (list 1 "" 0 nil "x") }} {{ concat (list 1) (list 2 3) }}', "[1 x] [1 2 3]"),
    ("{{ until 3 }} {{ untilStep 0 10 3 }}", "[0 1 2] [0 3 6 9]"),
    ("{{ first (list) }}", "<no value>"),
    # dicts
    (
        '{{ $d := dict "a" 1 "b" "two" }}{{ $d.a }} {{ $d.b }} {{ get $d "a" }} {{ get $d "z" }}',
        "1 two 1 ",
    ),
    (
        '{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $d }} {{ hasKey $d "b" }}',
        "map[a:1 b:2] true",
    ),
    ('{{ $d := dict "a" 1 "b" 2 }}{{ $_ := unset $d "a" }}{{ $d }}', "map[b:2]"),
    ('{{ keys .d | sortAlpha }} {{ values (dict "x" 1) }}', "[k n] [1]"),
    ('{{ pluck "k" .d (dict "k" "w") (dict "z" 1) }}', "[v w]"),
    ('{{ pick .d "k" }} {{ omit .d "k" }}', "map[k:v] map[n:1]"),
    (
        '{{ merge (dict "a" 1) (dict "a" 2 "b" 3) }} {{ mergeOverwrite (dict "a" 1) (dict "a" 2) }}',
        "map[a:1 b:3] map[a:2]",
    ),
    ('{{ dig "a" "b" "c" "none" .nested }} {{ dig "a" "x" "none" .nested }}', "deep none"),
    ('{{ dict "k" }}', "map[k:]"),
    # encoding
    (
        '{{ toJson .d }} {{ toJson (list 1 2.5 "<x>") }}',
        '{"k":"v","n":1} [1,2.5,"\\u003cx\\u003e"]',
    ),
    ('{{ toRawJson (list "<x>") }}', '["<x>"]'),
    ('{{ toPrettyJson (dict "a" (list 1)) }}', '{\n  "a": [\n    1\n  ]\n}'),
    ('{{ (fromJson "{\\"a\\": [1, 2]}").a }}', "[1 2]"),
    ('{{ fromJson "not json" }}', "<no value>"),
    ('{{ b64enc "hello" }} {{ b64dec "aGVsbG8=" }} {{ b32enc "hi" }}', "aGVsbG8= hello NBUQ===="),
    ('{{ toYaml (dict "b" (list 1 2) "a" "x") }}', "a: x\nb:\n- 1\n- 2"),
    ('{{ (fromYaml "a: 1\\nb: [x]").b }} {{ fromYamlArray "- 1\\n- 2" }}', "[x] [1 2]"),
    # regex
    ('{{ regexMatch "^[a-z]+$" "abc" }} {{ regexMatch "^[a-z]+$" "ab1" }}', "true false"),
    (
        '{{ regexFind "[a-zA-Z][1-9]" "abcd1234" }} {{ regexFindAll "[2,4,6,8]" "123456789" -1 }}',
        "d1 [2 4 6 8]",
    ),
    ('{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}', "-W-xxW-"),
    (
        '{{ regexReplaceAll "(?P<n>x+)" "axxb" "[$n]" }} {{ regexReplaceAllLiteral "a(x*)b" "-ab-" "${1}" }}',
        "a[xx]b -${1}-",
    ),
    ('{{ regexSplit "z+" "pizza" -1 }}', "[pi a]"),
    # math and conversion
    (
        "{{ add 1 2 3 }} {{ add1 5 }} {{ sub 5 7 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ div -7 2 }}",
        "6 6 -2 24 3 -3",
    ),
    (
        "{{ mod 7 3 }} {{ max 1 9 3 }} {{ min 4 2 8 }} {{ floor 1.7 }} {{ ceil 1.2 }} {{ round 123.555 2 }}",
        "1 9 2 1 2 123.56",
    ),
    (
        '{{ int "42" }} {{ int 4.9 }} {{ int "x" }} {{ int64 "0x10" }} {{ float64 "1.5" }} {{ atoi "7" }}',
        "42 4 0 16 1.5 7",
    ),
    ("{{ addf 1.5 2 }} {{ mulf 1.5 2 }} {{ divf 1 4 }}", "3.5 3 0.25"),
    # hashes, urls, semver
    ('{{ sha256sum "abc" }}', "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (
        '{{ sha1sum "abc" }} {{ adler32sum "abc" }}',
        "a9993e364706816aba3e25717850c26c9cd0d89d 38600999",
    ),
    (
        '{{ urlJoin (dict "scheme" "https" "host" "example.com" "path" "/a/b" "query" "x=1") }}',
        "https://example.com/a/b?x=1",
    ),
    ('{{ (urlParse "https://u@example.com:8080/p?q=1#f").host }}', "example.com:8080"),
    ('{{ semverCompare "^1.2.0" "1.4.1" }} {{ semverCompare "^1.2.0" "2.0.0" }}', "true false"),
    ('{{ semverCompare ">=1.2.3, <2" "1.9.9" }} {{ semverCompare "~1.2" "1.3.0" }}', "true false"),
    ('{{ semverCompare "1.2.x" "1.2.7" }} {{ semverCompare ">1.0" "1.0.0-beta" }}', "true false"),
    (
        '{{ semverCompare "1.0 - 2.0" "1.5.0" }} {{ semverCompare "<1 || >=3" "3.1.0" }}',
        "true true",
    ),
    ('{{ (semver "v1.2.3-rc.1").Major }} {{ (semver "1.2.3-rc.1").Prerelease }}', "1 rc.1"),
    # ApplicationSet
    (
        '{{ normalize "Feature/My_Branch.." }} {{ slugify "Hello, World! This is a test" }}',
        "feature-my-branch hello-world-this-is-a-test",
    ),
    (
        '{{ slugify "abcdefghij-klmnop" 12 }} {{ slugify "abcdefghij-klmnop" 12 false }}',
        "abcdefghij abcdefghij-k",
    ),
    ("{{.path.basename}} {{index .path.segments 1}} {{.path.path | base64enc}}", None),
    # reflection
    (
        '{{ typeOf 1 }} {{ kindOf (list) }} {{ kindIs "map" (dict) }} {{ typeIs "string" "x" }}',
        "int slice true true",
    ),
    # dates
    ('{{ date "2006-01-02" (toDate "2006-01-02" "2017-12-31") }}', "2017-12-31"),
    (
        '{{ (toDate "2006-01-02T15:04:05Z07:00" "2024-03-05T14:07:09+02:00").UTC.Format "15:04" }}',
        "12:07",
    ),
    ('{{ unixEpoch (toDate "2006-01-02" "1970-01-02") }} {{ duration 95 }}', "86400 1m35s"),
    ('{{ htmlDate (toDate "2006-01-02" "2020-02-29") }}', "2020-02-29"),
    ('{{ durationRound "2h10m5s" }} {{ durationRound "90s" }}', "2h 1m"),
    ('{{ (dateModify "1.5h" (toDate "2006-01-02" "2020-01-01")).Format "15:04" }}', "01:30"),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:50] for c in CASES])
def test_sprig(text: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(TemplateError, match='function "base64enc" not defined'):
            render(text, D, funcs=F)
        return
    assert render(text, D, funcs=F) == expected


def test_now_and_ago_use_the_clock() -> None:
    base = 1_700_000_000 * 1_000_000_000
    GoTime.clock = lambda: base
    try:
        assert render('{{ now | date "2006-01-02" }}', {}, funcs=F) == "2023-11-14"
        assert render("{{ ago .t }}", {"t": GoTime(base - 3_725_400_000_000)}, funcs=F) == "1h2m5s"
    finally:
        GoTime.clock = None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{{ fail "boom" }}', "error calling fail: boom"),
        ('{{ semverCompare "nonsense!!" "1.0.0" }}', "error calling semverCompare"),
        ('{{ semverCompare "^1" "not-a-version" }}', "Invalid Semantic Version"),
        ('{{ regexMatch "(" "x" }}', "error parsing regexp"),
        ('{{ toDate "2006-01-02" "31/12/2017" }}', "cannot parse"),
        ("{{ div 1 0 }}", "integer divide by zero"),
        ('{{ repeat 100000000 "ab" }}', "limit"),
        ('{{ ternary "a" "b" "notbool" }}', "expected bool"),
        ('{{ get "notamap" "k" }}', "expected map"),
        ('{{ first "x" }}', "Cannot find first"),
        ('{{ fromYaml ": : :" }}', "error unmarshaling YAML"),
    ],
)
def test_sprig_errors_name_the_function(text: str, reason: str) -> None:
    with pytest.raises(TemplateError) as err:
        render(text, D, name="msg", funcs=F)
    assert str(err.value).startswith("template: msg:1:")
    assert reason in str(err.value)


def test_output_limit_stops_a_runaway_template() -> None:
    text = '{{ range until 1000 }}{{ repeat 1000 "x" }}{{ end }}'
    with pytest.raises(TemplateError, match="output exceeds 100000 characters"):
        render(text, {}, funcs=F, limits=Limits(max_output=100_000))


def test_step_limit_stops_a_long_loop() -> None:
    text = "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}"
    with pytest.raises(TemplateError, match="evaluation steps"):
        render(text, {}, funcs=F, limits=Limits(max_steps=50_000))
