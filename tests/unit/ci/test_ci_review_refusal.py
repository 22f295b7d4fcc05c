"""Who may review a deployment: requiredReviewers (a list, or true) and preventSelfReview."""

from __future__ import annotations

import pytest

from shipway.ci.plan.environments import parse_all, review_refusal


def test_review_refusal_rules() -> None:
    envs = parse_all({"a": {"requiredReviewers": True, "preventSelfReview": True},
                      "b": {"requiredReviewers": ["Ann"]}})  # fmt: skip
    anyone = envs["a"]
    assert review_refusal(anyone.reviewers, True, "dev", "someone") is None
    refused = review_refusal(anyone.reviewers, True, "dev", "DEV")
    assert refused is not None and "another reviewer" in refused
    assert review_refusal(envs["b"].reviewers, False, "ann", "ann") is None
    assert review_refusal(envs["b"].reviewers, False, "x", "bo") == (
        "bo is not a required reviewer; who may review: Ann")  # fmt: skip
    with pytest.raises(ValueError, match="preventSelfReview"):
        parse_all({"c": {"preventSelfReview": "yes"}})
