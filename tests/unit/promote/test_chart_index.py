"""A classic index.yaml read for one chart: the chart's own block when the index is laid
out as Helm writes it, the same answer as parsing the whole file, and None (whole file
parsed) when it is laid out otherwise."""

from __future__ import annotations

import yaml

from shipway.promote.charts import _entry_block, helm_credentials

INDEX = """\
apiVersion: v1
entries:
  web-ui:
  - apiVersion: v2
    name: web-ui
    version: 9.0.0
    keywords:
      web:
      - a key named like a chart, deeper, holding a list
  web:
  - apiVersion: v2
    name: web
    version: 1.1.0
    urls:
    - web-1.1.0.tgz
  - apiVersion: v2
    name: web
    version: 1.0.0
  "api":
  - {name: api, version: 0.3.0}
generated: "2026-01-01T00:00:00Z"
"""


def _full(text: str, name: str) -> list[object]:
    return list(yaml.safe_load(text)["entries"][name])


def test_the_block_gives_what_the_whole_file_gives() -> None:
    for name in ("web", "web-ui", "api"):
        assert _entry_block(INDEX, name) == _full(INDEX, name), name
    assert [e["version"] for e in _entry_block(INDEX, "web") or []] == ["1.1.0", "1.0.0"]


def test_other_layouts_fall_back_to_the_whole_file() -> None:
    assert _entry_block(INDEX, "missing") is None
    flow = yaml.safe_dump(yaml.safe_load(INDEX), default_flow_style=True)
    assert _entry_block(flow, "web") is None
    indented = yaml.safe_dump(yaml.safe_load(INDEX), indent=4)
    got = _entry_block(indented, "web")
    assert got is None or got == _full(INDEX, "web")
    assert _entry_block("entries: {}\n", "web") is None


def test_helm_credentials_match_as_kargo_reads_them() -> None:
    find = helm_credentials([
        ("exact", {"repoURL": "https://Charts.example/acme/", "username": "a", "password": "1"}),
        ("oci", {"repoURL": "reg.example/charts/web", "username": "b", "password": "2"}),
        ("re", {"repoURL": r"^oci://mirror\.example/", "repoURLIsRegex": "true",
                "username": "c", "password": "3"}),
        ("bad", {"repoURL": "([", "repoURLIsRegex": "true", "username": "d", "password": "4"}),
        ("none", {"username": "e"}),
    ])  # fmt: skip
    assert find("https://charts.example/acme") == ("a", "1")
    assert find("oci://reg.example/charts/web") == ("b", "2")  # written without oci://
    assert find("oci://mirror.example/x/y") == ("c", "3")
    assert find("https://charts.example/other") is None


def test_freight_creation_criteria_see_the_charts() -> None:
    from shipway.model.kargo import WarehouseSpec
    from shipway.promote.warehouse import _criteria_unmet

    spec = WarehouseSpec.model_validate({
        "subscriptions": [{"chart": {"repoURL": "oci://reg.example/charts/web"}},
                          {"image": {"repoURL": "reg.example/web"}}],
        "freightCreationCriteria": {"expression": "chartFrom('oci://reg.example/charts/web')"
                                    ".Version == imageFrom('reg.example/web').Tag"},
    })  # fmt: skip
    images = [{"repoURL": "reg.example/web", "tag": "1.2.0", "digest": "sha256:aa"}]
    same = [{"repoURL": "oci://reg.example/charts/web", "version": "1.2.0"}]
    assert _criteria_unmet(spec, "w", images, [], same) == ""
    behind = [{"repoURL": "oci://reg.example/charts/web", "version": "1.1.0"}]
    assert "not met" in _criteria_unmet(spec, "w", images, [], behind)
