"""Live objects as the Kubernetes API server returns them, for the diff tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

FIXTURES = Path(__file__).parent / "fixtures" / "diff"


def load(name: str) -> dict[str, Any]:
    obj = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    assert isinstance(obj, dict)
    return obj


def container(obj: dict[str, Any], name: str) -> dict[str, Any]:
    for c in obj["spec"]["template"]["spec"]["containers"]:
        if c["name"] == name:
            return dict(c)
    raise KeyError(name)


def desired_as_applied() -> dict[str, Any]:
    """The desired Deployment plus what was applied with it last (so it matches live)."""
    obj = copy.deepcopy(load("deployment-desired"))
    obj["metadata"]["labels"]["tier"] = "frontend"
    obj["metadata"]["annotations"]["team"] = "a"
    web = obj["spec"]["template"]["spec"]["containers"][0]
    web["env"].insert(0, {"name": "DEBUG", "value": "1"})
    return obj
