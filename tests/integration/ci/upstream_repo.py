"""Repositories pushed to the test git daemon, standing for other ``owner/name`` repos."""

from __future__ import annotations

from pathlib import Path

from shipway.git.repo import Repo


class Upstream:
    """A repository pushed to the git daemon (another ``owner/name`` for checkout, remote
    actions and reusable workflows): commit files, tag (annotated), push."""

    def __init__(self, work: Path, url: str) -> None:
        self.repo = Repo.init(work)
        self.url = url
        self.repo.run("remote", "add", "origin", url)  # relative submodule URLs resolve here

    def commit(self, files: dict[str, str], tag: str | None = None) -> str:
        for name, text in files.items():
            path = self.repo.path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.repo.add_all()
        sha = self.repo.commit(f"change {sorted(files)}")
        if tag:
            self.repo.run("tag", "-f", "-a", "-m", tag, tag)
        self.repo.run("push", "-q", "--force", self.url, "HEAD:refs/heads/main")
        self.repo.run("push", "-q", "--force", "--tags", self.url)
        return sha
