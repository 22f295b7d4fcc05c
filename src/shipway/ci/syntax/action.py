"""``action.yml`` metadata: inputs, outputs and how the action runs. Pure.

Composite steps are validated with the workflow step rules (``run`` steps
must name their ``shell``, as GitHub requires).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipway.ci.plan.model import Step
from shipway.ci.syntax.github import _Checker, _step
from shipway.model.yamlsrc import load_one

ACTION_KEYS = {"name": "str", "author": "str", "description": "str", "inputs": "map",
               "outputs": "map", "runs": "map", "branding": "map"}  # fmt: skip
RUNS_KEYS = {"using": "str", "main": "str", "pre": "str", "post": "str", "pre-if": "str",
             "post-if": "str", "steps": "seq", "image": "str", "args": "seq",
             "entrypoint": "str", "pre-entrypoint": "str", "post-entrypoint": "str",
             "env": "env"}  # fmt: skip


@dataclass
class ActionDef:
    file: str
    name: str
    using: str  # composite, node12/16/20/24, docker
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)


def parse_action(text: str, file: str) -> ActionDef:
    doc = load_one(text, file)
    c = _Checker(doc)
    data = doc.data
    steps: list[Step] = []
    using = ""
    if c.keys(data, (), ACTION_KEYS, "the action"):
        runs = data.get("runs")
        if not isinstance(runs, dict):
            c.error(("runs",) if "runs" in data else (), "the action needs a 'runs' mapping")
        elif c.keys(runs, ("runs",), RUNS_KEYS, "runs"):
            using = str(runs.get("using", ""))
            if using == "composite":
                for i, sdata in enumerate(runs.get("steps") or []):
                    path = ("runs", "steps", i)
                    step = _step(c, path, i, sdata)
                    if step is not None:
                        if step.run is not None and not step.shell:
                            c.error(path, "a composite action's run step needs 'shell'")
                        steps.append(step)
            elif using.startswith("node"):
                if not runs.get("main"):
                    c.error(("runs",), f"a {using} action needs 'main'")
            elif using == "docker":
                if not runs.get("image"):
                    c.error(("runs",), "a docker action needs 'image'")
            else:
                c.error(("runs", "using"), f"unknown 'using: {using}'")
    if c.errors:
        raise c.errors[0]
    return ActionDef(
        file=file,
        name=str(data.get("name") or file),
        using=using,
        inputs={str(k): dict(v or {}) for k, v in (data.get("inputs") or {}).items()},
        outputs={str(k): dict(v or {}) for k, v in (data.get("outputs") or {}).items()},
        runs=dict(data.get("runs") or {}),
        steps=steps,
    )
