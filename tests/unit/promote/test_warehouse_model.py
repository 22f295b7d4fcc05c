"""Kargo Warehouse and Freight schemas: Kargo's defaults, unknown fields refused with
file:line:col, kinds not supported yet named as such."""

from __future__ import annotations

import pytest

from shipway.model.errors import ResourceError
from shipway.model.kargo import WarehouseSpec, duration_seconds
from shipway.model.resources import parse_text

WAREHOUSE = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: shop
  namespace: demo
spec:
  subscriptions:
  - image:
      repoURL: registry.local/shop
      semverConstraint: ^1.0.0
  - git:
      repoURL: https://git.local/shop.git
      includePaths: ["glob:src/*", "regex:^docs/.*\\\\.md$"]
"""


def test_defaults_are_kargos() -> None:
    [res] = parse_text(WAREHOUSE, "w.yaml")
    assert (res.kind, res.namespace, res.name) == ("Warehouse", "demo", "shop")
    spec = WarehouseSpec.model_validate(res.spec)
    assert spec.interval == "5m0s" and spec.freight_creation_policy == "Automatic"
    image, git = spec.subscriptions[0].image, spec.subscriptions[1].git
    assert image is not None and git is not None
    assert image.image_selection_strategy == "SemVer" and image.discovery_limit == 20
    assert image.strict_semvers is True and image.effective_constraint == "^1.0.0"
    assert git.commit_selection_strategy == "NewestFromBranch" and git.discovery_limit == 20


def _error(text: str) -> ResourceError:
    with pytest.raises(ResourceError) as info:
        parse_text(text, "w.yaml")
    return info.value


def test_unknown_field_named_with_position() -> None:
    err = _error(
        WAREHOUSE.replace("semverConstraint: ^1.0.0", "semverConstraint: ^1.0.0\n      tagz: x")
    )
    assert err.subject == "w.yaml:11:7"
    assert "spec.subscriptions.0.image.tagz" in str(err)


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("semverConstraint: ^1.0.0", "imageSelectionStrategy: Newest", "imageSelectionStrategy"),
        ("semverConstraint: ^1.0.0", "discoveryLimit: 101", "discoveryLimit"),
        ("semverConstraint: ^1.0.0", "imageSelectionStrategy: Digest", "constraint"),
        ("semverConstraint: ^1.0.0", "allowTags: '(['", "allowTags"),
        ('"glob:src/*"', '"regex:(["', "path selector"),
        ("  - image:", "  - chart: {repoURL: x}\n  - image:", "not an oci:// or http(s)://"),
        (
            "  - image:",
            "  - chart: {repoURL: 'https://c.example'}\n  - image:",
            "'name' is required",
        ),
        (
            "  - image:",
            "  - chart: {repoURL: 'oci://r.example/c', name: c}\n  - image:",
            "must not be set for an oci://",
        ),
        (
            "  - image:",
            "  - chart: {repoURL: 'oci://r/c', discoveryLimit: 0}\n  - image:",
            "discoveryLimit",
        ),
    ],
)
def test_bad_fields(old: str, new: str, words: str) -> None:
    err = _error(WAREHOUSE.replace(old, new))
    assert words in str(err) and err.subject and err.subject.startswith("w.yaml:")


def test_subscription_needs_exactly_one_source() -> None:
    text = WAREHOUSE.replace("  - git:", "    git:")
    assert "exactly one of 'image', 'git' or 'chart'" in str(_error(text))


def test_every_bad_chart_subscription_at_once() -> None:
    text = WAREHOUSE.replace("  - image:", "  - chart: {repoURL: 'https://c.example'}\n"
                             "  - chart: {repoURL: 'oci://r/c', bogus: 1}\n  - image:")  # fmt: skip
    msg = str(_error(text))
    assert "w.yaml:8:" in msg and "'name' is required" in msg
    assert "w.yaml:9:" in msg and "spec.subscriptions.1.chart.bogus" in msg


def test_chart_subscription_defaults() -> None:
    text = WAREHOUSE.replace("  - image:", "  - chart: {repoURL: 'oci://r.example/c'}\n  - image:")
    [res] = parse_text(text, "w.yaml")
    chart = WarehouseSpec.model_validate(res.spec).subscriptions[0].chart
    assert chart is not None and chart.oci and chart.discovery_limit == 20
    assert chart.name is None and chart.semver_constraint is None


def test_interval_is_a_go_duration() -> None:
    assert duration_seconds("5m0s") == 300 and duration_seconds("1h30m") == 5400
    err = _error(WAREHOUSE.replace("spec:\n", "spec:\n  interval: five\n"))
    assert "not a duration" in str(err) and err.subject == "w.yaml:7:3"


FREIGHT = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {name: abc123, namespace: demo}
alias: brave-fox
origin: {kind: Warehouse, name: shop}
images:
- {repoURL: registry.local/shop, tag: 1.2.0, digest: "sha256:00"}
commits:
- {repoURL: https://git.local/shop.git, id: deadbeef, branch: main}
status:
  currentlyIn: {test: {}}
"""


def test_freight_reads_top_level_fields() -> None:
    [res] = parse_text(FREIGHT, "f.yaml")
    assert res.body["alias"] == "brave-fox" and "status" not in res.body


def test_freight_errors() -> None:
    err = _error(FREIGHT.replace("branch: main", "branch: main, sha: x"))
    assert "commits.0.sha" in str(err) and err.subject == "w.yaml:9:69"
    err = _error(FREIGHT.replace("kind: Warehouse", "kind: Stage"))
    assert "origin.kind" in str(err)


@pytest.mark.parametrize("kind", ["PromotionRequest", "ClusterConfig", "Target"])
def test_kargo_kinds_not_served_yet(kind: str) -> None:
    err = _error(f"apiVersion: kargo.akuity.io/v1alpha1\nkind: {kind}\nmetadata: {{name: x}}\n")
    assert "not supported yet" in str(err) and err.subject == "w.yaml:2:1"
