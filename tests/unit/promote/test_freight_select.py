"""Freight naming and aliases, and the selection rules of Warehouse subscriptions."""

from __future__ import annotations

import hashlib

import pytest

from shipway.model.errors import InputError
from shipway.model.kargo import GitSubscription, ImageSubscription
from shipway.promote import freight, select

IMG = {"repoURL": "reg/shop", "tag": "1.2.0", "digest": "sha256:aa"}
COMMIT = {"repoURL": "https://git.local/Shop.git/", "id": "c0ffee"}


def test_name_is_sha1_of_sorted_contents() -> None:
    name = freight.freight_name("shop", [IMG], [COMMIT])
    text = "Warehouse/shop:https://git.local/shop:c0ffee|reg/shop@sha256:aa"
    assert name == hashlib.sha1(text.encode()).hexdigest()
    other = {"repoURL": "reg/cart", "tag": "2.0.0", "digest": "sha256:bb"}
    assert freight.freight_name("shop", [IMG, other], []) == freight.freight_name(
        "shop", [other, IMG], []
    )
    assert freight.freight_name("other", [IMG], []) != freight.freight_name("shop", [IMG], [])
    assert freight.freight_name("shop", [{**IMG, "tag": "latest"}], []) == freight.freight_name(
        "shop", [IMG], []
    )  # the digest is the identity, not the tag


def test_charts_are_part_of_the_name_as_kargo_writes_them() -> None:
    oci = {"repoURL": "oci://reg.local/charts/shop", "version": "1.2.0"}
    classic = {"repoURL": "https://Charts.local/", "name": "shop", "version": "0.3.0"}
    name = freight.freight_name("shop", [IMG], [], [oci, classic])
    text = ("Warehouse/shop:https://charts.local/shop:0.3.0|oci://reg.local/charts/shop:1.2.0"
            "|reg/shop@sha256:aa")  # fmt: skip
    assert name == hashlib.sha1(text.encode()).hexdigest()
    assert name != freight.freight_name("shop", [IMG], [], [{**oci, "version": "1.2.1"}, classic])
    # a chart-only Freight is a Freight, its charts as given
    doc = freight.document("shop", "demo", [], [], charts=[oci])
    assert doc["charts"] == [oci] and "images" not in doc
    from shipway.model.kargo import FreightBody

    FreightBody.model_validate({k: v for k, v in doc.items() if k in ("origin", "charts")})


def test_alias_is_stable_and_unique() -> None:
    name = freight.freight_name("shop", [IMG], [])
    first = freight.alias_for(name)
    assert first == freight.alias_for(name) and "-" in first
    assert freight.alias_for(name, {first}) not in (first, "")
    doc = freight.document("shop", "demo", [IMG], [COMMIT])
    assert doc["metadata"]["labels"][freight.ALIAS_LABEL] == doc["alias"]
    assert doc["origin"] == {"kind": "Warehouse", "name": "shop"}


def _image(**kw: object) -> ImageSubscription:
    return ImageSubscription.model_validate({"repoURL": "reg/shop", **kw})


TAGS = ["1.0.0", "1.2.0", "v1.10.0", "2.0.0-rc.1", "1.3", "latest", "abc"]


def test_semver_order_strict_and_constraint() -> None:
    sub = _image(constraint="^1.0.0")
    tags = select.usable_tags(TAGS, sub.strict_semvers, True)
    assert "1.3" not in tags and "latest" not in tags
    assert select.candidates(select.image_policy(sub), tags, 20) == ["v1.10.0", "1.2.0", "1.0.0"]
    assert select.candidates(select.image_policy(sub), tags, 2) == ["v1.10.0", "1.2.0"]


def test_allow_ignore_lexical_and_none() -> None:
    sub = _image(imageSelectionStrategy="Lexical", allowTags="^1", ignoreTags=["1.3"])
    assert select.candidates(select.image_policy(sub), TAGS, 3) == ["1.2.0", "1.0.0"]
    with pytest.raises(InputError):
        select.candidates(select.image_policy(_image(constraint="^9")), TAGS, 20)


def test_digest_follows_one_tag() -> None:
    sub = _image(imageSelectionStrategy="Digest", constraint="latest")
    assert select.candidates(select.image_policy(sub), TAGS, 20) == ["latest"]


def _git(**kw: object) -> GitSubscription:
    return GitSubscription.model_validate({"repoURL": "git://x/shop.git", **kw})


def test_path_filters() -> None:
    sub = _git(includePaths=["glob:src/*.py", "regex:^charts/", "docs"], excludePaths=["docs/tmp"])
    assert select.touches(sub, ["README.md", "src/app.py"])
    assert select.touches(sub, ["charts/a/values.yaml"])
    assert select.touches(sub, ["docs/index.md"])
    assert not select.touches(sub, ["docs/tmp/x.md", "README.md"])
    assert not select.touches(sub, ["docsite/x"])  # a prefix is a whole path segment
    assert select.touches(_git(), ["anything"])
    assert not select.touches(_git(excludePaths=["glob:*.md"]), ["a.md"])


def test_git_tags_filters() -> None:
    sub = _git(commitSelectionStrategy="SemVer", ignoreTags=["v1.2.0"])
    tags = select.filter_git_tags(sub, ["v1.0.0", "v1.2.0", "v1.1", "nightly"])
    assert tags == ["v1.0.0"]
    assert select.candidates(select.tag_policy(sub), ["v1.0.0", "v2.0.0"], 5) == [
        "v2.0.0",
        "v1.0.0",
    ]
