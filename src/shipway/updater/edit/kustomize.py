"""Rewrite a kustomization's ``images:`` entry (``newName``, ``newTag``, ``digest``).

The entry is found by ``name`` (the image name the manifests use); missing
keys are added after the entry's last key, a missing entry is appended to
``images:``, a missing ``images:`` is appended to the file. Pure: no I/O.
"""

from __future__ import annotations

from ruamel.yaml.nodes import MappingNode, SequenceNode

from shipway.model.errors import InputError
from shipway.updater.edit import yamltext
from shipway.updater.edit.yamltext import Change

_ORDER = ("newName", "newTag", "digest")


def set_image(
    text: str,
    file: str,
    name: str,
    *,
    new_name: str | None = None,
    new_tag: str | None = None,
    digest: str | None = None,
    tag_only_if_present: bool = False,
) -> tuple[str, list[Change]]:
    """Return the edited text and what changed (empty when it already says so).

    ``tag_only_if_present``: keep an existing ``newTag`` in step (a digest pins the image)
    but add none.
    """
    t = yamltext.parse(text, file)
    if not t.docs or not isinstance(t.docs[0], MappingNode):
        raise InputError("a kustomization must be a mapping", file=file, line=1)
    root = t.docs[0]
    wanted = {"newName": new_name, "newTag": new_tag, "digest": digest}
    values = [(k, v) for k in _ORDER if (v := wanted[k]) is not None]
    label = f"images[{name}]"
    found = yamltext.get(root, "images")
    if found is None:
        nl = t.newline
        body = f"images:{nl}- name: {yamltext.render(name, None)}{nl}"
        body += "".join(f"  {k}: {yamltext.render(v, None)}{nl}" for k, v in values)
        end = len(text)
        prefix = "" if text.endswith("\n") or not text else nl
        t.splices.append((end, end, prefix + body))
        t.changes.append(Change(file, t.line_of(end) + 1, label, None, name))
        return t.result(), t.changes
    key_node, seq = found
    if not isinstance(seq, SequenceNode):
        if yamltext.scalar(seq) in ("", None):  # "images:" with nothing under it
            nl = t.newline
            body = f"{nl}- name: {yamltext.render(name, None)}{nl}"
            body += "".join(f"  {k}: {yamltext.render(v, None)}{nl}" for k, v in values)
            at = key_node.end_mark.index + 1
            t.splices.append((at, yamltext._line_end(t, at), body))
            t.changes.append(Change(file, key_node.start_mark.line + 1, label, None, name))
            return t.result(), t.changes
        raise InputError("images: must be a list", file=file, line=key_node.start_mark.line + 1)
    entry = next(
        (
            item
            for item in seq.value
            if isinstance(item, MappingNode)
            and yamltext.scalar((yamltext.get(item, "name") or (None, None))[1]) == name
        ),
        None,
    )
    if entry is None:
        yamltext.append_item(t, seq, [("name", name), *values], label)
        return t.result(), t.changes
    missing = []
    for k, v in values:
        have = yamltext.get(entry, k)
        if have is None:
            if not (k == "newTag" and tag_only_if_present):
                missing.append((k, v))
        else:
            yamltext.replace(t, have[0], have[1], v, f"{label}.{k}")
    yamltext.insert_keys(t, entry, missing, label)
    return t.result(), t.changes
