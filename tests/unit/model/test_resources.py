"""Resource parsing: valid kinds load; bad input names file, line and reason."""

from __future__ import annotations

import re

import pytest

from shipway.model import resources
from shipway.model.errors import InputError, ResourceError

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: hello-dev
  annotations:
    argocd-image-updater.argoproj.io/image-list: app=127.0.0.1:5000/demo/hello
spec:
  source: {repoURL: "git://127.0.0.1/config.git", path: overlays/dev, targetRevision: main}
  destination: {name: local, namespace: dev}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
"""


def test_application_loads_with_source_position() -> None:
    (res,) = resources.parse_text(APP, "apps/hello.yaml")
    assert res.kind == "Application"
    assert res.name == "hello-dev"
    assert res.source == "apps/hello.yaml:1"
    assert res.annotations["argocd-image-updater.argoproj.io/image-list"].startswith("app=")


def test_unknown_field_names_line_and_path() -> None:
    bad = APP.replace("selfHeal: true", "selfHeel: true")
    with pytest.raises(ResourceError) as err:
        resources.parse_text(bad, "a.yaml")
    assert err.value.subject == "a.yaml:11:30"  # the key inside the flow mapping
    assert "spec.syncPolicy.automated" in str(err.value)
    assert "selfHeel" in str(err.value)


def test_missing_destination_target() -> None:
    bad = APP.replace("destination: {name: local, namespace: dev}", "destination: {namespace: x}")
    with pytest.raises(ResourceError, match="destination needs"):
        resources.parse_text(bad, "a.yaml")


def test_yaml_syntax_error_has_line_and_column() -> None:
    with pytest.raises(InputError) as err:
        resources.parse_text("kind: Application\nmetadata: [\n", "b.yaml")
    assert err.value.file == "b.yaml"
    assert err.value.line is not None and err.value.line >= 2


def test_yaml_12_on_is_a_string_key() -> None:
    text = APP.replace("  name: hello-dev", "  name: hello-dev\n  labels: {on: yes}")
    (res,) = resources.parse_text(text, "c.yaml")
    assert res.metadata["labels"] == {"on": "yes"}


def test_duplicate_resource_refused() -> None:
    with pytest.raises(ResourceError, match="defined twice"):
        resources.parse_text(APP + "---\n" + APP, "d.yaml")


def test_wrong_api_version_and_unknown_kind() -> None:
    with pytest.raises(ResourceError, match="apiVersion"):
        resources.parse_text(APP.replace("argoproj.io/v1alpha1", "argoproj.io/v2"), "e.yaml")
    with pytest.raises(ResourceError, match="unknown kind"):
        resources.parse_text(APP.replace("kind: Application", "kind: Widget"), "f.yaml")


def test_kubernetes_cluster_needs_kubeconfig() -> None:
    text = (
        "apiVersion: shipway.dev/v1alpha1\nkind: Cluster\nmetadata: {name: prod}\n"
        "spec: {type: kubernetes}\n"
    )
    with pytest.raises(ResourceError, match="kubeconfig"):
        resources.parse_text(text, "g.yaml")


def test_kind_aliases() -> None:
    assert resources.canonical_kind("apps") == "Application"
    assert resources.canonical_kind("imagepolicy") == "ImagePolicy"
    with pytest.raises(ResourceError):
        resources.canonical_kind("widgets")


def test_every_problem_of_a_file_is_reported_at_once_in_file_order() -> None:
    bad = APP.replace("selfHeal: true", "selfHeel: true").replace("path: overlays/dev", "pat: x")
    second = "apiVersion: v9\nkind: Nope\nmetadata: {name: x}\n"
    with pytest.raises(ResourceError) as err:
        resources.parse_text(bad + "---\n" + second + "---\n" + APP + "---\n" + APP, "a.yaml")
    lines = str(err.value).splitlines()
    found = [re.match(r"a\.yaml:(\d+)(?::(\d+))?: ", line) for line in lines]
    where = [(int(m.group(1)), int(m.group(2) or 0)) for m in found if m]
    assert where == sorted(where) and len(lines) == 4, lines
    assert "pat" in lines[0] and "selfHeel" in lines[1]
    assert "unknown kind 'Nope'" in lines[2] and "defined twice" in lines[3]
