"""The source repository the provenance names: a URL a policy can match, never a checkout path."""

from __future__ import annotations

from shipway.controller.signing import facts_for, source_url


def test_the_clone_url_the_controller_used_comes_first() -> None:
    clone = {"repository": {"clone_url": "git://git.example/acme/web.git"}}
    resume = {"repo": "/var/lib/shipway/ci/src", "repository": "acme/web",
              "git_url": "git://mirror:9418", "payload": clone}  # fmt: skip
    assert source_url(resume) == "git://git.example/acme/web.git"


def test_git_url_plus_name_then_a_url_repo_then_the_name() -> None:
    assert source_url({"repository": "acme/web", "git_url": "git://h:1/"}) == "git://h:1/acme/web"
    assert source_url({"repo": "https://h/acme/web.git", "repository": "acme/web"}) == (
        "https://h/acme/web.git"
    )
    assert source_url({"repo": "/tmp/checkout", "repository": "acme/web"}) == "acme/web"


def test_facts_carry_it() -> None:
    facts = facts_for("run-1", {"repo": "/tmp/x", "commit": "c" * 40, "payload": {
        "repository": {"clone_url": "git://g/a.git"}, "inputs": {"env": "dev"}}})  # fmt: skip
    assert facts.repository == "git://g/a.git"
    assert facts.inputs == {"env": "dev"}
