"""``shipway apply|get applicationsets`` and ``shipway appset generate``, as a user runs them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from cli_runner import run

LIST_SET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: guestbook
spec:
  generators:
  - list:
      elements:
      - cluster: engineering-dev
        url: https://1.2.3.4
      - cluster: engineering-prod
        url: https://2.4.6.8
  template:
    metadata:
      name: '{{cluster}}-guestbook'
    spec:
      project: default
      source:
        repoURL: https://github.com/argoproj/argo-cd.git
        targetRevision: HEAD
        path: applicationset/examples/list-generator/guestbook/{{cluster}}
      destination:
        server: '{{url}}'
        namespace: guestbook
"""

BAD_SET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: broken
spec:
  strategy:
    type: RollingSync
  goTemplateOptions: ["missingkey=oops"]
  generators:
  - list:
      elements: []
    git:
      repoURL: https://x
  - scmProvider: {}
  template:
    metadata: {name: x}
    spec: {}
"""


def test_apply_get_and_generate(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "set.yaml"
    f.write_text(LIST_SET)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    code, out, err = run(["apply", "-f", str(f)], capsys)
    assert (code, out) == (0, "applicationset/guestbook created\n"), err
    code, out, _ = run(["get", "appsets", "-o", "json"], capsys)
    (item,) = json.loads(out)["items"]
    # RFC 3339 UTC to the second, as kubectl shows it: the time of the apply
    created = dt.datetime.strptime(item["metadata"].pop("creationTimestamp"), "%Y-%m-%dT%H:%M:%SZ")
    assert before <= created.replace(tzinfo=dt.UTC) <= dt.datetime.now(dt.UTC)
    assert item["metadata"] == {"name": "guestbook", "namespace": "argocd"}
    code, out, _ = run(["get", "applicationsets"], capsys)
    assert out.split()[:4] == ["NAME", "STATUS", "APPLICATIONS", "AGE"]
    assert out.splitlines()[1].split()[:3] == ["guestbook", "Unknown", "0"]

    code, out, _ = run(["appset", "generate", "guestbook", "-o", "yaml"], capsys)
    assert code == 0
    listing = yaml.safe_load(out)  # a list's -o yaml is one List, as everywhere
    assert (listing["apiVersion"], listing["kind"]) == ("v1", "List")
    apps = listing["items"]
    assert [a["metadata"]["name"] for a in apps] == [
        "engineering-dev-guestbook",
        "engineering-prod-guestbook",
    ]
    assert apps[0]["spec"]["destination"]["server"] == "https://1.2.3.4"
    code, out, _ = run(["appset", "generate", "-f", str(f), "-o", "name"], capsys)
    assert out.split() == ["application/engineering-dev-guestbook",
                           "application/engineering-prod-guestbook"]  # fmt: skip
    # generate stores nothing
    code, out, _ = run(["get", "applications", "-o", "json"], capsys)
    assert json.loads(out)["items"] == []


def test_refresh_writes_owned_applications(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "set.yaml"
    f.write_text(LIST_SET)
    run(["apply", "-f", str(f)], capsys)
    code, out, _ = run(["appset", "refresh", "guestbook"], capsys)
    assert code == 0
    assert out.splitlines() == [
        "application/engineering-dev-guestbook created",
        "application/engineering-prod-guestbook created",
    ]
    code, out, _ = run(["get", "apps", "-l", "shipway.dev/applicationset=guestbook", "-o",
                        "name"], capsys)  # fmt: skip
    assert out.split() == ["application/engineering-dev-guestbook",
                           "application/engineering-prod-guestbook"]  # fmt: skip
    code, out, _ = run(["get", "appset", "-o", "wide"], capsys)
    row = out.splitlines()[1].split()
    assert row[:3] == ["guestbook", "UpToDate", "2"]
    assert "list" in row and "sync" in row
    code, out, _ = run(["get", "appset", "guestbook"], capsys)
    assert out.splitlines()[1].split()[:3] == ["guestbook", "UpToDate", "2"]
    code, out, _ = run(["appset", "refresh", "guestbook"], capsys)
    assert out == "applicationset/guestbook up to date (2 applications)\n"
    # the clusters are not reachable: their resources cannot be deleted, so neither are they
    code, out, err = run(["delete", "appset", "guestbook"], capsys)
    assert (code, out) == (0, "applicationset/guestbook deleted\n")
    assert err.count("not deleted: ") == 2 and "cluster 'https://1.2.3.4' is not known" in err


def test_delete_prunes_applications_preserving_resources(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "set.yaml"
    f.write_text(LIST_SET.replace("spec:\n  generators:",
                                  "spec:\n  syncPolicy: {preserveResourcesOnDeletion: true}\n"
                                  "  generators:", 1))  # fmt: skip
    run(["apply", "-f", str(f)], capsys)
    assert run(["appset", "refresh", "guestbook"], capsys)[0] == 0
    code, out, err = run(["delete", "appset", "guestbook"], capsys)
    assert code == 0, err
    assert out.splitlines() == ["applicationset/guestbook deleted",
                                "application/engineering-dev-guestbook deleted",
                                "application/engineering-prod-guestbook deleted"]  # fmt: skip
    assert run(["get", "apps", "-o", "name"], capsys)[1] == ""


def test_duplicate_names_fail_refresh_and_generate(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "set.yaml"
    f.write_text(LIST_SET.replace("'{{cluster}}-guestbook'", "guestbook"))
    run(["apply", "-f", str(f)], capsys)
    code, _, err = run(["appset", "generate", "guestbook"], capsys)
    assert code == 2
    assert "duplicate generated Application 'guestbook'" in err
    code, _, err = run(["appset", "refresh", "guestbook"], capsys)
    assert code == 1
    assert "duplicate generated Application" in err


def test_bad_set_every_problem_with_its_position(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(BAD_SET)
    code, _, err = run(["apply", "-f", str(f)], capsys)
    assert code == 2
    text = " ".join(err.split())
    assert "progressive syncs (spec.strategy) is not supported by shipway" in text
    # without the refused strategy, every remaining problem is named at once with its line
    f.write_text(BAD_SET.replace("  strategy:\n    type: RollingSync\n", ""))
    code, _, err = run(["apply", "-f", str(f)], capsys)
    assert code == 2
    text = " ".join(err.split())
    assert "bad.yaml:6:23: spec.goTemplateOptions.0: Input should be" in text
    assert "bad.yaml:8:5" in text and "exactly one of" in text
    assert "bad.yaml:12:5" in text and "scmProvider generator is not supported" in text
