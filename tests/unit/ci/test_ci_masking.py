"""Secret masking in every form GitHub's runner masks, and only in user text."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from shipway.ci.expr.evaluate import Scope
from shipway.ci.expr.template import render_str
from shipway.ci.masking import Masker, base64_forms

SECRET = 'p@ss "wörd"/42+&='


def _masker(*values: str) -> Masker:
    m = Masker()
    for v in values:
        m.add(v)
    return m


@pytest.mark.parametrize("prefix", ["", "u", "us", "use", "user:"])
def test_base64_of_the_secret_inside_longer_text_at_every_alignment(prefix: str) -> None:
    m = _masker(SECRET)
    encoded = base64.b64encode(f"{prefix}{SECRET}!tail".encode()).decode()
    masked = m.mask(f"Authorization: Basic {encoded}")
    assert "***" in masked
    # what is left visible cannot be decoded back to the secret
    assert SECRET not in masked
    fragments = list(base64_forms(SECRET))
    assert len(fragments) == 3 and not any(f in masked for f in fragments)


def test_url_and_json_forms() -> None:
    m = _masker(SECRET)
    url = "https://x.test/?token=" + quote(SECRET, safe="")
    assert m.mask(url) == "https://x.test/?token=***"
    assert m.mask(json.dumps({"t": SECRET})) == '{"t": "***"}'
    assert m.mask(json.dumps({"t": SECRET}, ensure_ascii=False)) == '{"t": "***"}'


def test_each_line_of_a_multiline_secret() -> None:
    m = _masker("-----BEGIN KEY-----\nAAAAline2\n  indented-line3  \n-----END KEY-----")
    assert m.mask("x AAAAline2 y") == "x *** y"
    assert m.mask("indented-line3") == "***"
    assert m.mask(json.dumps("-----BEGIN KEY-----\nAAAAline2")) == '"***\\n***"'


def test_to_json_of_the_secrets_context_is_masked() -> None:
    secrets = {"A": SECRET, "B": "multi\nline-secret", "GITHUB_TOKEN": ""}
    m = _masker(*[v for v in secrets.values() if v])
    text = render_str("${{ toJSON(secrets) }}", Scope({"secrets": secrets}))
    masked = m.mask(text)
    assert SECRET not in masked and "line-secret" not in masked and "multi" not in masked
    assert json.loads(masked)["A"] == "***"


def test_short_secret_masks_log_text_but_never_computed_fields() -> None:
    m = _masker("ab")
    sha = "ab" * 20
    record = {
        "id": "abcdef",
        "commit": sha,
        "ref": "refs/heads/ab",
        "status": "completed",
        "jobs": [
            {
                "id": "lab",
                "name": "job ab",
                "result": "success",
                "outputs": {"o": "xaby"},
                "steps": [
                    {"id": "ab", "name": "echo ab", "outcome": "success", "outputs": {"v": "ab"}}
                ],
            }
        ],
        "annotations": [{"message": "ab!"}],
    }
    out = m.mask_record(record)
    assert out["id"] == "abcdef" and out["commit"] == sha and out["ref"] == "refs/heads/ab"
    job = out["jobs"][0]
    assert job["id"] == "lab" and job["steps"][0]["id"] == "ab"
    assert job["name"] == "job ***" and job["outputs"] == {"o": "x***y"}
    assert job["steps"][0]["outputs"] == {"v": "***"} and job["steps"][0]["name"] == "echo ***"
    assert out["annotations"] == [{"message": "***!"}]
    assert m.mask(f"checked out {sha}") == "checked out " + "***" * 20
