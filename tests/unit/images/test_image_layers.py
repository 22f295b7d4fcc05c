"""Deterministic layers and the context's safety rules."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from shipway.images.build import layers as L
from shipway.images.layout import Layout
from shipway.model.errors import InputError


def _context(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "tool").write_bytes(b"#!/bin/sh\necho hi\n")
    (root / "bin" / "tool").chmod(0o755)
    (root / "bin" / "alias").symlink_to("/bin/tool")
    (root / "etc").mkdir()
    (root / "etc" / "conf").write_text("a=1\n")
    return root


def _layer(ctx: Path, layout: Layout, dest: str = "/") -> L.Layer:
    srcs = L.resolve_sources(ctx, ["."], "Dockerfile:2")
    return L.write_layer(L.collect(ctx, srcs, dest, True), L.Owner(mtime=0), layout)


def test_same_inputs_same_digest_whatever_the_mtimes(tmp_path: Path) -> None:
    a = _context(tmp_path / "a")
    b = _context(tmp_path / "b")
    os.utime(b / "etc" / "conf", (1_000_000, 1_000_000))
    la = _layer(a, Layout(tmp_path / "l1"))
    lb = _layer(b, Layout(tmp_path / "l2"))
    assert la == lb
    entries = L.collect(a, L.resolve_sources(a, ["."], "x"), "/", True)
    assert L.tar_digest(entries, L.Owner()) == la.diff_id


def test_tar_is_sorted_root_owned_and_keeps_symlinks(tmp_path: Path) -> None:
    ctx = _context(tmp_path / "c")
    layout = Layout(tmp_path / "l")
    layer = _layer(ctx, layout, "/app")
    with tarfile.open(fileobj=io.BytesIO(layout.read(layer.digest)), mode="r:gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert names[0] == "app"
    link = next(m for m in members if m.name == "app/bin/alias")
    assert link.issym() and link.linkname == "/bin/tool"
    tool = next(m for m in members if m.name == "app/bin/tool")
    assert tool.mode == 0o755
    assert {(m.uid, m.gid, m.mtime, m.uname) for m in members} == {(0, 0, 0, "")}


def test_single_file_to_a_directory_and_to_a_name(tmp_path: Path) -> None:
    ctx = _context(tmp_path / "c")
    srcs = L.resolve_sources(ctx, ["etc/conf"], "x")
    assert [e.name for e in L.collect(ctx, srcs, "/opt/", True)] == ["opt", "opt/conf"]
    assert [e.name for e in L.collect(ctx, srcs, "/opt/c.txt", False)] == ["opt", "opt/c.txt"]
    assert [e.name for e in L.collect(ctx, L.resolve_sources(ctx, ["etc/*"], "x"), "/", True)] == [
        "conf"
    ]


def test_stat_key_changes_with_content_but_not_without(tmp_path: Path) -> None:
    ctx = _context(tmp_path / "c")

    def key() -> str:
        srcs = L.resolve_sources(ctx, ["."], "x")
        return L.stat_key(L.collect(ctx, srcs, "/", True), L.Owner())

    first = key()
    assert key() == first
    (ctx / "etc" / "conf").write_text("a=2\n")
    assert key() != first


@pytest.mark.parametrize("src", ["../x", "/../../etc/passwd", "a/../../b"])
def test_source_outside_the_context_is_refused(tmp_path: Path, src: str) -> None:
    ctx = _context(tmp_path / "c")
    with pytest.raises(InputError, match="outside the build context") as err:
        L.resolve_sources(ctx, [src], "Dockerfile:3")
    assert err.value.subject == "Dockerfile:3"


def test_symlink_escaping_the_context_is_refused(tmp_path: Path) -> None:
    ctx = _context(tmp_path / "c")
    (tmp_path / "secret").write_text("s")
    (ctx / "leak").symlink_to(tmp_path / "secret")
    with pytest.raises(InputError, match="symlink escaping"):
        L.resolve_sources(ctx, ["leak"], "Dockerfile:4")


def test_missing_source_and_empty_glob(tmp_path: Path) -> None:
    ctx = _context(tmp_path / "c")
    with pytest.raises(InputError, match="not found"):
        L.resolve_sources(ctx, ["nope"], "x")
    with pytest.raises(InputError, match="match"):
        L.resolve_sources(ctx, ["*.nope"], "x")
