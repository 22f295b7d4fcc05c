"""``ci.service.repository_name``: the ``owner/name`` a run's ``GITHUB_REPOSITORY`` shows."""

from __future__ import annotations

import pytest

from shipway.ci.service import repository_name


@pytest.mark.parametrize(
    ("url", "local", "expected"),
    [
        ("https://github.com/acme/shop.git", True, "acme/shop"),
        ("git@github.com:acme/shop.git", True, "acme/shop"),
        ("git://127.0.0.1:9418/acme/shop/", True, "acme/shop"),
        ("/srv/git/shop.git", True, "git/shop"),
        ("shop.git", True, "local/shop"),
        ("", True, "local/repo"),
        ("shop.git", False, ""),
        ("git@github.com:acme/shop.git", False, "acme/shop"),
    ],
)
def test_repository_name(url: str, local: bool, expected: str) -> None:
    assert repository_name(url, local=local) == expected
