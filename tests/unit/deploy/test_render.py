"""Rendered manifests: parsing, file selection, validation errors naming the file."""

from __future__ import annotations

import pytest

from shipway.deploy import render
from shipway.model.errors import InputError

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n"


def test_parse_flattens_lists_and_skips_empty_documents() -> None:
    text = (
        CM
        + "---\n---\napiVersion: v1\nkind: List\nitems:\n"
        + "- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n"
    )
    kinds = [m["kind"] for m in render.parse(text, "x.yaml")]
    assert kinds == ["ConfigMap", "Secret"]


def test_bad_yaml_names_file_line_and_column() -> None:
    with pytest.raises(InputError) as err:
        render.parse("kind: ConfigMap\nmetadata: {name: [a\n", "apps/a/cm.yaml")
    assert err.value.subject is not None and err.value.subject.startswith("apps/a/cm.yaml:")
    assert "invalid YAML" in err.value.message


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"apiVersion": "v1", "metadata": {"name": "a"}}, "missing 'kind'"),
        ({"kind": "ConfigMap", "metadata": {"name": "a"}}, "missing 'apiVersion'"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}, "metadata.name"),
        ({"apiVersion": "x/v1", "kind": "Widget", "metadata": {"name": "a"}}, "not known"),
    ],
)
def test_validate_refuses_invalid_manifests(doc: dict[str, object], reason: str) -> None:
    with pytest.raises(InputError) as err:
        render.validate([("m.yaml", doc)], known_kinds=frozenset({"ConfigMap"}))
    assert err.value.subject == "m.yaml"
    assert reason in err.value.message


def test_validate_refuses_duplicates_across_files_and_defaults_namespace() -> None:
    a = render.parse(CM, "a.yaml")[0]
    b = render.parse(CM, "b.yaml")[0]
    with pytest.raises(InputError) as err:
        render.validate([("a.yaml", a), ("b.yaml", b)], namespace="dev")
    assert err.value.subject == "b.yaml" and "a.yaml" in err.value.message
    ns = render.parse("apiVersion: v1\nkind: Namespace\nmetadata: {name: dev}\n", "n.yaml")[0]
    out = render.validate(
        [("a.yaml", render.parse(CM, "a.yaml")[0]), ("n.yaml", ns)], namespace="dev"
    )
    assert out[0]["metadata"]["namespace"] == "dev"
    assert "namespace" not in out[1]["metadata"]
    assert render.key_of(out[0]) == "/ConfigMap/dev/a"


def test_select_files_recurse_include_exclude() -> None:
    files = ["a.yaml", "b.yml", "README.md", "sub/c.yaml", "sub/skip.yaml", "d.json"]
    assert render.select_files(files) == ["a.yaml", "b.yml", "d.json"]
    assert render.select_files(files, recurse=True, exclude="skip.yaml") == [
        "a.yaml",
        "b.yml",
        "d.json",
        "sub/c.yaml",
    ]
    assert render.select_files(files, recurse=True, include="{*.yml,sub/*}") == [
        "b.yml",
        "sub/c.yaml",
        "sub/skip.yaml",
    ]


def test_missing_render_tool_is_a_clear_input_error(tmp_path) -> None:
    from shipway.deploy import sources

    with pytest.raises(InputError) as err:
        sources._run_tool(["helm-is-not-installed", "template"], tmp_path, "chart/Chart.yaml")
    assert err.value.subject == "chart/Chart.yaml"
    assert "helm-is-not-installed is not installed" in err.value.message


def test_kustomize_options_become_an_overlay() -> None:
    from shipway.deploy import sources

    assert sources.kustomize_image("nginx:1.25") == {"name": "nginx", "newTag": "1.25"}
    assert sources.kustomize_image("web=127.0.0.1:5000/web:v2") == {
        "name": "web",
        "newName": "127.0.0.1:5000/web",
        "newTag": "v2",
    }
    assert sources.kustomize_image("web@sha256:abc") == {"name": "web", "digest": "sha256:abc"}
    assert sources.kustomize_overlay({}, "apps/a") is None
    overlay = sources.kustomize_overlay({"images": ["web:v2"], "namePrefix": "dev-"}, "apps/a")
    assert overlay is not None
    assert overlay["resources"] == ["../apps/a"] and overlay["namePrefix"] == "dev-"
