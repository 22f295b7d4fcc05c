"""``images.build.owners``: USER and ``--chown`` specs against an image's passwd and group."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.images.build import owners
from shipway.model.errors import InputError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text(
        "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/app:/bin/sh\n"
    )
    (tmp_path / "etc" / "group").write_text("root:x:0:\nstaff:x:50:\n")
    return tmp_path


@pytest.mark.parametrize(
    ("spec", "gid_of_uid", "expected"),
    [
        ("app", True, (1000, 1001)),
        ("app", False, (1000, 1001)),
        ("app:staff", False, (1000, 50)),
        ("1000", True, (1000, 1001)),  # USER uid: its passwd entry's group
        ("1000", False, (1000, 1000)),  # --chown uid: the uid
        ("4242", True, (4242, 0)),
        ("7:8", False, (7, 8)),
    ],
)
def test_resolve(root: Path, spec: str, gid_of_uid: bool, expected: tuple[int, int]) -> None:
    assert (
        owners.resolve(spec, lambda: root, "Dockerfile:3", "USER", gid_of_uid=gid_of_uid)
        == expected
    )


def test_unknown_names_are_input_errors_at_the_instruction(root: Path) -> None:
    with pytest.raises(InputError, match="--chown: no 'nobody' in /etc/passwd") as got:
        owners.resolve("nobody", lambda: root, "Dockerfile:3", "--chown", gid_of_uid=False)
    assert got.value.subject == "Dockerfile:3"
    with pytest.raises(InputError, match="USER: no 'wheel' in /etc/group"):
        owners.resolve("app:wheel", lambda: root, "Dockerfile:3", "USER", gid_of_uid=True)


def test_numbers_need_no_filesystem() -> None:
    def no_root() -> Path:
        raise AssertionError("unpacked the image for numeric ids")

    assert owners.resolve("7:8", no_root, "Dockerfile:1", "--chown", gid_of_uid=False) == (7, 8)
