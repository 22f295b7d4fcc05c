"""Stage and Freight status after a successful promotion, and promotion names."""

from __future__ import annotations

import re

from shipway.promote.promotion import promotion_name, ulid
from shipway.promote.status import after_success

OLD = {"name": "old111", "origin": {"kind": "Warehouse", "name": "web"}}
NEW = {"metadata": {"name": "new222"}, "origin": {"kind": "Warehouse", "name": "web"},
       "images": [{"repoURL": "reg/web", "tag": "2"}]}  # fmt: skip
API = {"name": "api333", "origin": {"kind": "Warehouse", "name": "api"}}


def test_history_current_and_currently_in() -> None:
    items = {"Warehouse/web": OLD, "Warehouse/api": API}
    stage = {"freightHistory": [{"id": "p0", "items": items}], "health": {"status": "Healthy"}}
    statuses = {"old111": {"currentlyIn": {"test": {}, "uat": {}}, "verifiedIn": {"test": {}}},
                "new222": {}}  # fmt: skip
    promo = {"name": "test.01.new222", "status": {"phase": "Succeeded", "finishedAt": "T"}}
    new_stage, changed = after_success(stage, promo, NEW, statuses, "test")
    top = new_stage["freightHistory"][0]
    assert top["id"] == "test.01.new222"
    assert top["items"]["Warehouse/web"]["name"] == "new222"
    assert top["items"]["Warehouse/api"] == API  # the other origin stays
    assert new_stage["freightHistory"][1]["id"] == "p0"
    assert new_stage["lastPromotion"]["name"] == "test.01.new222"
    assert new_stage["health"] == {"status": "Healthy"}
    assert changed["new222"] == {"currentlyIn": {"test": {}}}
    # the replaced Freight leaves the stage; what verification owns is untouched
    assert changed["old111"] == {"currentlyIn": {"uat": {}}, "verifiedIn": {"test": {}}}


def test_history_is_bounded() -> None:
    stage = {"freightHistory": [{"id": f"p{i}", "items": {}} for i in range(10)]}
    new_stage, _ = after_success(stage, {"name": "n"}, NEW, {}, "test")
    assert len(new_stage["freightHistory"]) == 10
    assert new_stage["freightHistory"][0]["id"] == "n"


def test_promotion_name_like_kargo() -> None:
    name = promotion_name("uat", "abcdef0123456789", ms=1_700_000_000_000)
    assert re.fullmatch(r"uat\.[0-9a-hjkmnp-tv-z]{26}\.abcdef0", name)
    assert ulid(0, bytes(10)) == "0" * 26
    assert ulid(1, bytes(10)) < ulid(2, bytes(10))
