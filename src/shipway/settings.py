"""Settings read from the environment, each with a default and a reason.

Nothing here touches the disk beyond computing paths; callers create them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from shipway.model import bounded


def _home() -> Path:
    env = os.environ.get("SHIPWAY_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return Path("~/.local/share/shipway").expanduser()


@dataclass(frozen=True)
class Settings:
    """Where shipway keeps its state and which database it talks to."""

    home: Path = field(default_factory=_home)
    """The state directory (``$SHIPWAY_HOME``): database, logs, services, workspaces."""

    database_url: str = field(default_factory=lambda: os.environ.get("SHIPWAY_DATABASE_URL", ""))
    """A SQLAlchemy URL; empty means the SQLite file ``<home>/shipway.db``."""

    controller_url: str = field(
        default_factory=lambda: os.environ.get("SHIPWAY_CONTROLLER_URL", "")
    )
    """Where a running controller listens; empty means read ``<home>/run/controller.url``."""

    webhook_secret: str = field(
        default_factory=lambda: os.environ.get("SHIPWAY_WEBHOOK_SECRET", "")
    )
    """The secret forge webhooks are signed with (GitHub, Gitea) or carry (GitLab's token).

    Empty means the controller's own generated secret (``shipway hook token forge``):
    unsigned forge webhooks are always refused."""

    registry_webhook_secret: str = field(
        default_factory=lambda: os.environ.get("SHIPWAY_REGISTRY_WEBHOOK_SECRET", "")
    )
    """The token registry notifications carry (``Authorization``, ``?token=``, or the HMAC key
    of GHCR's signature). Empty means the controller's own (``shipway hook token registry``)."""

    controller_workers: bool = field(
        default_factory=lambda: os.environ.get("SHIPWAY_CONTROLLER_WORKERS", "1") != "0"
    )
    """Whether a controller takes work from the inbox; ``0`` makes it only accept events
    (a receiver in front of other controllers that share the database)."""

    net_timeout: float = field(
        default_factory=lambda: float(os.environ.get("SHIPWAY_NET_TIMEOUT", "") or 60.0)
    )
    """Seconds a network call may wait for an answer (a read, a write, ``git ls-remote``)."""

    signing_key: str = field(default_factory=lambda: os.environ.get("SHIPWAY_SIGNING_KEY", ""))
    """The private key (``shipway image key generate``) the controller signs the images of
    shipway's CI runs with, attaching SLSA provenance; empty means images are not signed.
    Its password is read from ``SHIPWAY_SIGNING_PASSWORD``. CI steps never see the key."""

    max_file_bytes: int = field(default_factory=bounded.max_file_bytes)
    """The largest YAML/JSON file read (``SHIPWAY_MAX_FILE_BYTES``, ``10MiB`` by default).

    ``shipway.model.bounded`` reads the same variable wherever text is parsed."""

    max_body_bytes: int = field(default_factory=bounded.max_body_bytes)
    """The largest webhook body accepted (``SHIPWAY_MAX_BODY_BYTES``, 25 MiB as GitHub's)."""

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'shipway.db'}"

    @property
    def controller_url_file(self) -> Path:
        """Where a started controller writes its URL."""
        return self.run_dir / "controller.url"

    def resolved_controller_url(self) -> str:
        """``controller_url``, else what a running controller wrote; empty when neither."""
        if self.controller_url:
            return self.controller_url
        marker = self.controller_url_file
        return marker.read_text().strip() if marker.is_file() else ""

    @property
    def run_dir(self) -> Path:
        """Pid files, sockets and ports of supervised services."""
        return self.home / "run"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def work_dir(self) -> Path:
        """Per-run CI workspaces and config-repo checkouts."""
        return self.home / "work"


def load() -> Settings:
    return Settings()
