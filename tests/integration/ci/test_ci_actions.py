"""Local composite actions, JavaScript actions run with node (with post steps), the action cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

Runner = Callable[..., tuple[dict[str, Any], list[str]]]

COMPOSITE = """\
name: Greet
inputs:
  who: {required: true}
  punct: {default: "!"}
outputs:
  said: {value: "${{ steps.say.outputs.text }}"}
runs:
  using: composite
  steps:
    - id: say
      shell: bash
      run: |
        echo "text=hi ${{ inputs.who }}${{ inputs.punct }}" >> "$GITHUB_OUTPUT"
        echo "action path ok: $(test -f "$GITHUB_ACTION_PATH/action.yml" && echo yes)"
        echo "FROM_COMPOSITE=set" >> "$GITHUB_ENV"
    - uses: ./.github/actions/inner
      with: {n: "${{ inputs.who }}"}
"""
INNER = """\
name: Inner
inputs: {n: {}}
runs:
  using: composite
  steps:
    - shell: sh
      run: echo "inner got ${{ inputs.n }} step-env=$OUTER_ENV"
"""
JS_ACTION = """\
name: Js
inputs:
  who: {default: nobody}
outputs:
  upper: {description: the name in capitals}
runs:
  using: node20
  main: main.js
  post: post.js
"""
MAIN_JS = """\
const fs = require("fs");
const who = process.env.INPUT_WHO;
fs.appendFileSync(process.env.GITHUB_OUTPUT, `upper=${who.toUpperCase()}\\n`);
fs.appendFileSync(process.env.GITHUB_STATE, `seen=${who}\\n`);
console.log(`::notice::hello from node ${who}`);
"""
POST_JS = "console.log(`post saw ${process.env.STATE_seen}`);\n"


def test_composite_and_node_actions(run_wf: Runner) -> None:
    record, lines = run_wf(
        """
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - uses: actions/checkout@v4
              - id: g
                uses: ./.github/actions/greet
                env: {OUTER_ENV: outer}
                with: {who: world}
              - run: echo "said=${{ steps.g.outputs.said }} env=$FROM_COMPOSITE"
              - id: js
                uses: ./.github/actions/js
                with: {who: ada}
              - run: echo "upper=${{ steps.js.outputs.upper }}"
        """,
        {
            ".github/actions/greet/action.yml": COMPOSITE,
            ".github/actions/inner/action.yml": INNER,
            ".github/actions/js/action.yml": JS_ACTION,
            ".github/actions/js/main.js": MAIN_JS,
            ".github/actions/js/post.js": POST_JS,
        },
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "said=hi world! env=set" in text
    assert "action path ok: yes" in text
    assert "inner got world step-env=outer" in text
    assert "upper=ADA" in text
    assert "post saw ada" in text
    steps = record["jobs"][0]["steps"]
    assert [s["name"] for s in steps][-1] == "Post Js"
    assert len(steps) == 6  # composite inner steps are not job steps
    assert record["annotations"][0]["message"] == "hello from node ada"


def test_action_cache_and_unknown_action(run_wf: Runner, tmp_path: Path) -> None:
    cache = tmp_path / "actions"
    vendored = cache / "acme/hello@v1"
    vendored.mkdir(parents=True)
    (vendored / "action.yml").write_text(
        "name: Hello\nruns:\n  using: composite\n  steps:\n    - shell: sh\n"
        "      run: echo vendored-ran\n"
    )
    record, lines = run_wf(
        """
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - uses: acme/hello@v1
              - uses: acme/missing@v2
        """,
        action_cache=cache,
    )
    text = "\n".join(lines)
    assert "vendored-ran" in text
    assert "action 'acme/missing@v2' is not available" in text
    assert f"git clone https://github.com/acme/missing {cache}/acme/missing@v2" in text
    assert [s["conclusion"] for s in record["jobs"][0]["steps"]] == ["success", "failure"]


def test_vendored_node_action_pre_main_post(run_wf: Runner, tmp_path: Path) -> None:
    vendored = tmp_path / "actions" / "acme/lifecycle@v2"
    vendored.mkdir(parents=True)
    (vendored / "action.yml").write_text(
        "name: Lifecycle\ninputs: {tag: {default: t0}}\n"
        "runs: {using: node20, pre: pre.js, main: main.js, post: post.js}\n"
    )
    state = "require('fs').appendFileSync(process.env.GITHUB_STATE, 'from_pre=yes\\n');"
    (vendored / "pre.js").write_text(f"console.log('pre ' + process.env.INPUT_TAG); {state}\n")
    (vendored / "main.js").write_text("console.log('main sees ' + process.env.STATE_from_pre);\n")
    (vendored / "post.js").write_text("console.log('post ' + process.env.INPUT_TAG);\n")
    record, lines = run_wf(
        """
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - run: echo first-step
              - uses: acme/lifecycle@v2
                with: {tag: t1}
        """,
        action_cache=tmp_path / "actions",
    )
    order = [ln.split("] ", 1)[1] for ln in lines if "] " in ln and "[a]" not in ln]
    assert record["conclusion"] == "success", lines
    assert order == ["pre t1", "first-step", "main sees yes", "post t1"]
