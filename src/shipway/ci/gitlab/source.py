"""Read ``.gitlab-ci.yml`` and its ``include: local`` files into plain data with positions.

Pure: file text comes through a ``read(path) -> str | None`` callback (the caller
reads the checkout). ``!reference [job, key, ...]`` tags become ``Ref`` values
(resolved later by ``expand``). Every top-level key remembers where it was
written (``Source.where(key, *path)`` gives ``file:line:col``), so errors found
after merging still point into the file that holds the text. Problems are
collected in ``Problems``, never raised one at a time.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from shipway.model.errors import InputError
from shipway.model.yamlsrc import Located, PathKey, load_documents

Reader = Callable[[str], str | None]
MAX_INCLUDES = 150  # GitLab's limit of included files per pipeline


@dataclass(frozen=True)
class Ref:
    """A ``!reference`` tag: the path it names and where it was written."""

    path: tuple[str, ...]
    where: str


@dataclass
class Problems:
    """Every problem found, reported at once in file order."""

    errors: list[InputError] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        file, line, col = _split_where(where)
        self.errors.append(InputError(message, file=file, line=line, column=col))

    def raise_any(self) -> None:
        if not self.errors:
            return
        found = sorted(self.errors, key=lambda e: (e.file or "", e.line or 0, e.column or 0))
        unique: list[InputError] = []
        for e in found:
            if not unique or str(unique[-1]) != str(e):
                unique.append(e)
        first = unique[0]
        first.message = "\n".join([first.message, *(str(e) for e in unique[1:])])
        raise first


def _split_where(where: str) -> tuple[str, int | None, int | None]:
    parts = where.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return parts[0], int(parts[1]), int(parts[2])
    return where, None, None


@dataclass
class Source:
    """The merged top level of a pipeline: key -> value, and where each key was written."""

    file: str
    data: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, tuple[Located, tuple[PathKey, ...]]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def where(self, key: str, *path: PathKey) -> str:
        if key not in self.origin:
            return f"{self.file}:1:1"
        doc, prefix = self.origin[key]
        return doc.where((*prefix, key, *path))


def _plain(node: Any, doc: Located, path: tuple[PathKey, ...]) -> Any:
    tag = getattr(getattr(node, "tag", None), "value", None)
    if tag == "!reference":
        items = [str(x) for x in node] if isinstance(node, list) else []
        return Ref(tuple(items), doc.where(path))
    if isinstance(node, CommentedMap | dict):
        return {str(k): _plain(v, doc, (*path, str(k))) for k, v in node.items()}
    if isinstance(node, CommentedSeq | list):
        return [_plain(v, doc, (*path, i)) for i, v in enumerate(node)]
    return node


def _load(text: str, file: str, problems: Problems) -> Located | None:
    try:
        docs = list(load_documents(text, file))
    except InputError as exc:
        problems.errors.append(exc)
        return None
    if not docs:
        return None
    if len(docs) > 1:  # GitLab: a header document (spec:) then the pipeline
        return docs[-1]
    return docs[0]


def _include_items(value: Any) -> list[tuple[int | None, Any]]:
    if isinstance(value, list):
        return list(enumerate(value))
    return [(None, value)]


def load(file: str, read: Reader, problems: Problems, files: Sequence[str] = ()) -> Source:
    """Load ``file`` and, depth first, its ``include: local`` files (later keys win,
    the including file over what it includes, as GitLab merges them)."""
    src = Source(file)
    _load_into(src, file, read, problems, list(files), [])
    return src


def _load_into(src: Source, file: str, read: Reader, problems: Problems, all_files: list[str],
               chain: list[str]) -> None:  # fmt: skip
    text = read(file)
    if text is None:
        problems.add(f"{chain[-1] if chain else file}:1:1", f"included file {file!r} not found")
        return
    src.files.append(file)
    doc = _load(text, file, problems)
    if doc is None:
        return
    if not isinstance(doc.node, CommentedMap):
        problems.add(f"{file}:{doc.line}:1", "the pipeline must be a mapping of keywords and jobs")
        return
    data = _plain(doc.node, doc, ())
    include = data.pop("include", None)
    if include is not None:
        for i, item in _include_items(include):
            at = doc.where(("include",) if i is None else ("include", i))
            local = _local_path(item, at, problems)
            if local is None:
                continue
            targets = _glob(local, all_files) if any(c in local for c in "*?[") else [local]
            if not targets:
                problems.add(at, f"include: local {local!r} matches no file")
            for target in targets:
                if target in chain or target == file:
                    problems.add(at, f"include: {target!r} includes itself")
                    continue
                if len(src.files) >= MAX_INCLUDES:
                    problems.add(at, f"more than {MAX_INCLUDES} included files")
                    return
                _load_into(src, target, read, problems, all_files, [*chain, file])
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(src.data.get(key), dict) and key != "stages":
            src.data[key] = _deep_merge(src.data[key], value)  # GitLab merges hashes deeply
        else:
            src.data[key] = value
        src.origin[key] = (doc, ())


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _local_path(item: Any, at: str, problems: Problems) -> str | None:
    if isinstance(item, str):
        if "://" in item:
            problems.add(at, "include: only local files are supported here (remote given)")
            return None
        return item.lstrip("/")
    if isinstance(item, dict):
        if "local" in item and isinstance(item["local"], str):
            return str(item["local"]).lstrip("/")
        kinds = sorted(set(item) & {"remote", "project", "template", "component", "file"})
        problems.add(at, f"include: {', '.join(kinds) or 'this form'} is not supported here "
                         "(only include: local)")  # fmt: skip
        return None
    problems.add(at, "include: expects a path or a mapping with local:")
    return None


def _glob(pattern: str, files: Sequence[str]) -> list[str]:
    return sorted(f for f in files if fnmatch.fnmatchcase(f, pattern))
