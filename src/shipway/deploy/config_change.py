"""The image digests one config-repository commit adds, read from the reconciler's mirror.

A CI run that commits the image it built into the config repository (the Tekton
catalog's ``git-update-deployment``, a GitHub Actions job that edits a
kustomization) makes a commit the image updater did not: ``read`` tells the
controller which digests that commit added, with the image name beside each
(``name@sha256:…`` or a kustomize ``newName:`` above a ``digest:``), so the
tracker can link the commit to the release of the run that built the image.
Reads the persistent mirror of ``deploy.gitsource`` (fetching once when the
commit is not there yet); errors are ``GitError``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from shipway.deploy.gitsource import ConfigRepo
from shipway.model.errors import GitError
from shipway.settings import Settings

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_PINNED = re.compile(r"([A-Za-z0-9][A-Za-z0-9._/:-]*)@(sha256:[0-9a-f]{64})")
_NEW_NAME = re.compile(r"^\s*-?\s*newName:\s*['\"]?([^'\"\s#]+)")


@dataclass(frozen=True)
class ConfigChange:
    """One commit: when it was made, its subject, and the digests it added (each with the
    image name the change gives it, '' when it names none)."""

    commit: str
    committed: dt.datetime
    subject: str
    images: dict[str, str] = field(default_factory=dict)


def added_images(patch: str) -> dict[str, str]:
    """The digests on the added lines of a unified diff, each with its image name (from
    the line itself, or the nearest ``newName:`` above it in the hunk)."""
    found: dict[str, str] = {}
    name = ""
    for line in patch.splitlines():
        if line.startswith("@@"):
            name = ""
            continue
        if line.startswith(("+++", "---")) or not line.startswith(("+", " ")):
            continue
        text = line[1:]
        named = _NEW_NAME.match(text)
        if named:  # an added or unchanged (context) ``newName:`` names the digests below
            name = named.group(1)
        if line.startswith(" "):
            continue
        pinned = {d: n for n, d in _PINNED.findall(text)}
        for digest in DIGEST.findall(text):
            found.setdefault(digest, pinned.get(digest) or name)
    return found


def read(settings: Settings, url: str, commit: str) -> ConfigChange:
    """What ``commit`` of the config repository at ``url`` added (its first parent's diff)."""
    mirror = ConfigRepo(settings, url)
    argv = ["show", "--no-color", "--format=%cI%n%s", "-U5", "--first-parent", commit]
    if not (mirror.path / "HEAD").exists():
        mirror.fetch()
    try:
        out = mirror.repo.run(*argv)
    except GitError:  # not in the mirror yet: fetch once, then it must be there
        mirror.fetch()
        out = mirror.repo.run(*argv)
    when, _, rest = out.partition("\n")
    subject, _, patch = rest.partition("\n")
    return ConfigChange(commit, dt.datetime.fromisoformat(when.strip()), subject.strip(),
                        added_images(patch))  # fmt: skip
