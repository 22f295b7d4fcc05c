"""ApplicationSet generators and rendering, on examples shaped like Argo CD's documentation."""

from __future__ import annotations

import json

import pytest
from appset_inputs import FakeInputs, appset, spec_yaml

from shipway.deploy.appset import plan
from shipway.deploy.appset.inputs import ClusterInfo, PullInfo
from shipway.model.errors import InputError

DEST = {"server": "https://kubernetes.default.svc", "namespace": "guestbook"}


def _template(name: str, path: str = "guestbook", dest: dict[str, str] | None = None) -> dict:
    return {
        "metadata": {"name": name},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example/apps.git", "targetRevision": "HEAD",
                       "path": path},
            "destination": dest or DEST,
        },
    }  # fmt: skip


def _apps(spec: dict, inputs: FakeInputs | None = None) -> list[dict]:
    return plan.desired(appset(spec_yaml(spec)), inputs or FakeInputs())


def test_list_generator_fasttemplate() -> None:
    spec = {
        "generators": [{"list": {"elements": [
            {"cluster": "engineering-dev", "url": "https://1.2.3.4"},
            {"cluster": "engineering-prod", "url": "https://2.4.6.8"},
        ]}}],
        "template": _template("{{cluster}}-guestbook", "guestbook/{{cluster}}",
                              {"server": "{{url}}", "namespace": "guestbook"}),
    }  # fmt: skip
    apps = _apps(spec)
    assert [a["metadata"]["name"] for a in apps] == [
        "engineering-dev-guestbook",
        "engineering-prod-guestbook",
    ]
    assert apps[1]["spec"]["destination"]["server"] == "https://2.4.6.8"
    assert apps[0]["spec"]["source"]["path"] == "guestbook/engineering-dev"
    meta = apps[0]["metadata"]
    assert meta["namespace"] == "argocd"
    assert meta["labels"][plan.OWNER_LABEL] == "set"
    assert meta["ownerReferences"][0]["kind"] == "ApplicationSet"
    assert meta["ownerReferences"][0]["name"] == "set"


def test_fasttemplate_spaces_and_unknown_placeholders() -> None:
    spec = {
        "generators": [{"list": {"elements": [{"cluster": "dev", "values": {"ns": "web"}}]}}],
        "template": _template("{{ cluster }}-app", "x/{{nope}}",
                              {"server": "https://k", "namespace": "{{values.ns}}"}),
    }  # fmt: skip
    (app,) = _apps(spec)
    assert app["metadata"]["name"] == "dev-app"
    assert app["spec"]["source"]["path"] == "x/{{nope}}"  # left as fasttemplate leaves it
    assert app["spec"]["destination"]["namespace"] == "web"


def test_list_elements_yaml_and_go_template() -> None:
    spec = {
        "goTemplate": True,
        "goTemplateOptions": ["missingkey=error"],
        "generators": [{"list": {"elementsYaml": "- name: a\n  tags: [x, y]\n"
                                                 "- name: b\n  tags: []"}}],
        "template": _template("{{.name}}-{{len .tags}}", "{{ .name | upper }}"),
    }  # fmt: skip
    apps = _apps(spec)
    assert [a["metadata"]["name"] for a in apps] == ["a-2", "b-0"]
    assert apps[0]["spec"]["source"]["path"] == "A"


def test_git_directories_with_exclude() -> None:
    files = {
        "apps/guestbook/kustomization.yaml": "",
        "apps/helm-guestbook/Chart.yaml": "",
        "apps/excluded/x.yaml": "",
        "other/y.yaml": "",
    }
    spec = {
        "generators": [{"git": {"repoURL": "https://git.example/apps.git", "revision": "HEAD",
                                "directories": [{"path": "apps/*"},
                                                {"path": "apps/excluded", "exclude": True}]}}],
        "template": _template("{{path.basename}}", "{{path}}",
                              {"server": "https://k", "namespace": "{{path[1]}}"}),
    }  # fmt: skip
    inputs = FakeInputs(files)
    apps = _apps(spec, inputs)
    assert [a["metadata"]["name"] for a in apps] == ["guestbook", "helm-guestbook"]
    assert apps[1]["spec"]["source"]["path"] == "apps/helm-guestbook"
    assert apps[1]["spec"]["destination"]["namespace"] == "helm-guestbook"
    assert inputs.asked == [("https://git.example/apps.git", "HEAD")]


def test_git_files_fasttemplate_and_go_template() -> None:
    config = {"aws_account": "123456", "asset_id": "11223344",
              "cluster": {"owner": "cluster-admin@company.com", "name": "engineering-dev",
                          "address": "https://1.2.3.4"}}  # fmt: skip
    files = {
        "cluster-config/engineering/dev/config.json": json.dumps(config),
        "cluster-config/engineering/prod/config.json": json.dumps(
            {**config, "cluster": {**config["cluster"], "name": "engineering-prod"}}
        ),
        "cluster-config/engineering/prod/notes.txt": "not matched",
    }
    git = {"repoURL": "https://git.example/apps.git", "revision": "HEAD",
           "files": [{"path": "cluster-config/**/config.json"}]}  # fmt: skip
    spec = {
        "generators": [{"git": git}],
        "template": _template("{{cluster.name}}-guestbook", "{{path[1]}}/{{path.basename}}",
                              {"server": "{{cluster.address}}", "namespace": "{{path.filename}}"}),
    }  # fmt: skip
    apps = _apps(spec, FakeInputs(files))
    assert [a["metadata"]["name"] for a in apps] == [
        "engineering-dev-guestbook",
        "engineering-prod-guestbook",
    ]
    assert apps[0]["spec"]["source"]["path"] == "engineering/dev"
    assert apps[0]["spec"]["destination"] == {"server": "https://1.2.3.4",
                                              "namespace": "config.json"}  # fmt: skip
    go = {
        "goTemplate": True,
        "goTemplateOptions": ["missingkey=error"],
        "generators": [{"git": git}],
        "template": _template("{{.cluster.name}}", "{{.path.path}}",
                              {"server": "{{.cluster.address}}",
                               "namespace": "{{index .path.segments 1}}-"
                                            "{{.path.basenameNormalized}}"}),
    }  # fmt: skip
    apps = _apps(go, FakeInputs(files))
    assert apps[1]["metadata"]["name"] == "engineering-prod"
    assert apps[1]["spec"]["source"]["path"] == "cluster-config/engineering/prod"
    assert apps[1]["spec"]["destination"]["namespace"] == "engineering-prod"


def test_git_values_and_path_param_prefix() -> None:
    files = {"apps/web/k.yaml": ""}
    spec = {
        "generators": [{"git": {"repoURL": "https://git.example/a.git",
                                "directories": [{"path": "apps/*"}], "pathParamPrefix": "app",
                                "values": {"ns": "team-{{app.path.basename}}"}}}],
        "template": _template("{{app.path.basename}}", "{{app.path}}",
                              {"server": "https://k", "namespace": "{{values.ns}}"}),
    }  # fmt: skip
    (app,) = _apps(spec, FakeInputs(files))
    assert app["metadata"]["name"] == "web"
    assert app["spec"]["destination"]["namespace"] == "team-web"


CLUSTERS = [
    ClusterInfo("local", "podman://local", annotations={"shipway.dev/builtin": "true"}),
    ClusterInfo("staging", "https://staging:6443", labels={"env": "staging"}),
    ClusterInfo("prod", "https://prod:6443", labels={"env": "prod", "tier": "gold"}),
]


def test_cluster_generator_all_and_selected() -> None:
    spec = {
        "generators": [{"clusters": {}}],
        "template": _template("{{name}}-guestbook", dest={"server": "{{server}}",
                                                          "namespace": "guestbook"}),
    }  # fmt: skip
    names = [a["metadata"]["name"] for a in _apps(spec, FakeInputs(clusters=CLUSTERS))]
    assert names == ["local-guestbook", "staging-guestbook", "prod-guestbook"]
    spec["generators"] = [{"clusters": {
        "selector": {"matchExpressions": [{"key": "env", "operator": "In",
                                           "values": ["staging", "prod"]}]},
        "values": {"revision": "{{metadata.labels.env}}-branch"}}}]  # fmt: skip
    spec["template"]["spec"]["source"]["targetRevision"] = "{{values.revision}}"
    apps = _apps(spec, FakeInputs(clusters=CLUSTERS))
    assert [a["metadata"]["name"] for a in apps] == ["staging-guestbook", "prod-guestbook"]
    assert apps[1]["spec"]["source"]["targetRevision"] == "prod-branch"
    assert apps[1]["spec"]["destination"]["server"] == "https://prod:6443"


def test_matrix_git_directories_times_clusters() -> None:
    files = {"apps/a/k.yaml": "", "apps/b/k.yaml": ""}
    spec = {
        "generators": [{"matrix": {"generators": [
            {"git": {"repoURL": "https://git.example/a.git", "directories": [{"path": "apps/*"}]}},
            {"clusters": {"selector": {"matchLabels": {"env": "prod"}}}},
        ]}}],
        "template": _template("{{path.basename}}-{{name}}", "{{path}}",
                              {"server": "{{server}}", "namespace": "{{path.basename}}"}),
    }  # fmt: skip
    apps = _apps(spec, FakeInputs(files, clusters=CLUSTERS))
    assert [a["metadata"]["name"] for a in apps] == ["a-prod", "b-prod"]


def test_matrix_second_child_uses_first_params() -> None:
    files = {"apps/a/config.json": json.dumps({"components": [{"c": "web"}, {"c": "db"}]})}
    spec = {
        "goTemplate": True,
        "generators": [{"matrix": {"generators": [
            {"git": {"repoURL": "https://git.example/a.git",
                     "files": [{"path": "apps/*/config.json"}]}},
            {"list": {"elementsYaml": "{{ .components | toJson }}"}},
        ]}}],
        "template": _template("{{.path.basename}}-{{.c}}"),
    }  # fmt: skip
    apps = _apps(spec, FakeInputs(files))
    assert [a["metadata"]["name"] for a in apps] == ["a-web", "a-db"]


def test_matrix_conflicting_keys_is_an_error() -> None:
    spec = {
        "generators": [{"matrix": {"generators": [
            {"list": {"elements": [{"k": "1"}]}}, {"list": {"elements": [{"k": "2"}]}},
        ]}}],
        "template": _template("{{k}}"),
    }  # fmt: skip
    with pytest.raises(InputError, match=r"spec.generators\[0\].matrix: found duplicate key k"):
        _apps(spec)


def test_merge_overrides_by_merge_keys() -> None:
    spec = {
        "generators": [{"merge": {"mergeKeys": ["server"], "generators": [
            {"clusters": {"values": {"kafka": "true", "redis": "false"}}},
            {"clusters": {"selector": {"matchLabels": {"env": "prod"}},
                          "values": {"redis": "true"}}},
            {"list": {"elements": [{"server": "https://staging:6443", "values.redis": "maybe"},
                                   {"server": "https://nowhere", "values.redis": "never"}]}},
        ]}}],
        "template": _template("{{name}}-{{values.kafka}}-{{values.redis}}",
                              dest={"server": "{{server}}", "namespace": "x"}),
    }  # fmt: skip
    names = [a["metadata"]["name"] for a in _apps(spec, FakeInputs(clusters=CLUSTERS))]
    assert names == ["local-true-false", "staging-true-maybe", "prod-true-true"]


def test_merge_keys_must_be_unique() -> None:
    spec = {
        "generators": [{"merge": {"mergeKeys": ["a"], "generators": [
            {"list": {"elements": [{"a": "1", "n": "x"}, {"a": "1", "n": "y"}]}},
        ]}}],
        "template": _template("{{n}}"),
    }  # fmt: skip
    with pytest.raises(InputError, match="not unique by the given mergeKeys"):
        _apps(spec)


def test_generator_selector_and_template_override() -> None:
    spec = {
        "generators": [{
            "list": {"elements": [{"cluster": "dev", "tier": "a"}, {"cluster": "qa", "tier": "b"}],
                     "template": {"metadata": {}, "spec": {"source": {"path": "override"}}}},
            "selector": {"matchLabels": {"tier": "a"}},
        }],
        "template": _template("{{cluster}}"),
    }  # fmt: skip
    (app,) = _apps(spec)
    assert app["metadata"]["name"] == "dev"
    assert app["spec"]["source"]["path"] == "override"
    assert app["spec"]["source"]["repoURL"] == "https://git.example/apps.git"


PULLS = [
    PullInfo(12, "Add login", "feature/Add_Login", "main", "a" * 40, "octo", ("preview",)),
    PullInfo(13, "Docs", "docs/readme", "main", "b1b2b3b4b5b6b7b8" + "0" * 24, "ada", ()),
    PullInfo(14, "Hotfix", "hotfix-1", "release-1.0", "c" * 40, "octo", ("preview", "urgent")),
]


def test_pull_request_params_and_filters() -> None:
    spec = {
        "generators": [{"pullRequest": {
            "github": {"owner": "myorg", "repo": "myrepo", "labels": ["preview"]},
            "filters": [{"branchMatch": ".*-1$"},
                        {"branchMatch": "^feature/", "targetBranchMatch": "^main$"}],
            "requeueAfterSeconds": 60,
        }}],
        "template": _template("myapp-{{branch_slug}}-{{number}}", dest={
            "server": "https://k", "namespace": "pr-{{number}}"}),
    }  # fmt: skip
    spec["template"]["spec"]["source"]["targetRevision"] = "{{head_sha}}"
    spec["template"]["metadata"]["annotations"] = {
        "shas": "{{head_short_sha}} {{head_short_sha_7}}",
        "who": "{{author}}: {{title}} -> {{target_branch}} ({{target_branch_slug}})",
    }
    apps = _apps(spec, FakeInputs(pulls=PULLS))
    assert [a["metadata"]["name"] for a in apps] == ["myapp-feature-add-login-12",
                                                     "myapp-hotfix-1-14"]  # fmt: skip
    first = apps[0]
    assert first["spec"]["source"]["targetRevision"] == "a" * 40
    assert first["metadata"]["annotations"]["shas"] == "aaaaaaaa aaaaaaa"
    assert first["metadata"]["annotations"]["who"] == "octo: Add login -> main (main)"
    assert apps[1]["metadata"]["annotations"]["who"].endswith("(release-1-0)")


def test_pull_request_labels_with_go_template_and_long_slug() -> None:
    long_branch = "feature/" + "x" * 60
    pulls = [PullInfo(7, "t", long_branch, "main", "d" * 40, "octo", ("a", "b"))]
    spec = {
        "goTemplate": True,
        "goTemplateOptions": ["missingkey=error"],
        "generators": [{"pullRequest": {"gitlab": {"project": "g/p"}}}],
        "template": _template("pr-{{.number}}", "{{ join \"-\" .labels }}"),
    }  # fmt: skip
    spec["template"]["metadata"]["labels"] = {"slug": "{{.branch_slug}}"}
    (app,) = _apps(spec, FakeInputs(pulls=pulls))
    assert app["spec"]["source"]["path"] == "a-b"
    assert app["metadata"]["labels"]["slug"] == ("feature-" + "x" * 60)[:50]


def test_missing_key_error_names_set_generator_and_params() -> None:
    spec = {
        "goTemplate": True,
        "goTemplateOptions": ["missingkey=error"],
        "generators": [{"list": {"elements": [{"cluster": "dev"}]}},
                       {"list": {"elements": [{"cluster": "qa"}, {"other": "x"}]}}],
        "template": _template("{{.cluster}}"),
    }  # fmt: skip
    with pytest.raises(InputError) as err:
        _apps(spec)
    text = str(err.value)
    assert text.startswith("ApplicationSet/argocd/set: ")
    assert "spec.generators[1] parameter set 1" in text
    assert '"other": "x"' in text
    assert 'map has no entry for key "cluster"' in text
    assert "spec.generators[0]" not in text  # only the failing set is named


def test_go_template_default_missingkey_prints_no_value() -> None:
    spec = {"goTemplate": True, "generators": [{"list": {"elements": [{"cluster": "dev"}]}}],
            "template": _template("{{.cluster}}", "p/{{.nope}}")}  # fmt: skip
    (app,) = _apps(spec)
    assert app["spec"]["source"]["path"] == "p/<no value>"


def test_template_patch() -> None:
    spec = {
        "goTemplate": True,
        "generators": [{"list": {"elements": [
            {"cluster": "dev", "autoSync": True, "prune": True, "valueFiles": ["a.yaml", "b.yaml"]},
            {"cluster": "prod", "autoSync": False, "prune": False, "valueFiles": []}]}}],
        "template": _template("{{.cluster}}"),
        "templatePatch": (
            "spec:\n  source:\n    helm:\n      valueFiles:\n"
            "      {{- range $valueFile := .valueFiles }}\n        - {{ $valueFile }}\n"
            "      {{- end }}\n"
            "{{- if .autoSync }}\n  syncPolicy:\n    automated:\n      prune: {{ .prune }}\n"
            "{{- end }}\n"),
    }  # fmt: skip
    dev, prod = _apps(spec)
    assert dev["spec"]["syncPolicy"] == {"automated": {"prune": True}}
    assert dev["spec"]["source"]["helm"] == {"valueFiles": ["a.yaml", "b.yaml"]}
    assert dev["spec"]["source"]["path"] == "guestbook"  # the rest of the source is kept
    assert "syncPolicy" not in prod["spec"]


def test_duplicate_generated_names_are_an_error() -> None:
    spec = {
        "generators": [{"list": {"elements": [{"c": "a"}, {"c": "a"}, {"c": "b"}]}}],
        "template": _template("app-{{c}}"),
    }
    with pytest.raises(InputError, match="duplicate generated Application 'app-a'"):
        _apps(spec)


def test_every_problem_at_once() -> None:
    spec = {
        "generators": [{"list": {"elements": [{"c": "Bad_Name"}, {"c": "ok"}]}},
                       {"git": {"repoURL": "https://git.example/a.git",
                                "files": [{"path": "*.json"}]}}],
        "template": _template("{{c}}"),
    }  # fmt: skip
    with pytest.raises(InputError) as err:
        _apps(spec, FakeInputs({"bad.json": "{: ["}))
    text = str(err.value)
    assert "'Bad_Name' is not a DNS subdomain name" in text
    assert "spec.generators[1].git: bad.json is not JSON or YAML" in text
