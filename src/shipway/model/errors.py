"""The one exception tree of shipway.

Adapters translate the errors of the systems they own (subprocess failures,
HTTP statuses, SQL errors) into these classes at their boundary, so engines
and front ends only ever see ``ShipwayError`` subclasses::

    ShipwayError                  every error shipway raises on purpose
    ├── InputError                bad input from a user: file, line, reason
    │   └── ResourceError         a resource that fails validation
    ├── NotFoundError             a named object does not exist
    ├── ConflictError             a concurrent change got there first (retryable)
    ├── AccessError               who is asking is unknown or not allowed (HTTP 401/403)
    │   ├── UnauthenticatedError  no credential, a wrong one, an expired or revoked token
    │   └── PermissionDeniedError an RBAC policy does not allow the action
    ├── VerificationError         a signature, attestation or policy check failed
    └── ExternalError             an external system failed or refused
        ├── GitError              git command or server
        ├── RegistryError         an OCI registry (carries the HTTP status)
        ├── ClusterError          a deployment target (Kubernetes, podman)
        ├── CIError               a CI run could not be started or completed
        └── ServiceError          a supervised local service did not start

Every error carries ``subject``: the object it is about (a file, a resource
``Kind/name``, an image reference, a repository URL), and ``exit_code``: what
the CLI exits with.
"""

from __future__ import annotations


class ShipwayError(Exception):
    """Base class: ``subject`` names the object, ``exit_code`` is the CLI's code."""

    exit_code = 1

    def __init__(self, message: str, *, subject: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.subject = subject

    def __str__(self) -> str:
        if self.subject:
            return f"{self.subject}: {self.message}"
        return self.message


class InputError(ShipwayError):
    """Input from a user is malformed; ``subject`` is ``file:line[:column]`` when known."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        subject: str | None = None,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        if subject is None and file is not None:
            subject = file
            if line is not None:
                subject += f":{line}"
                if column is not None:
                    subject += f":{column}"
        super().__init__(message, subject=subject)


class ResourceError(InputError):
    """A declarative resource failed validation."""


class NotFoundError(ShipwayError):
    """A named object does not exist."""

    exit_code = 3


class ConflictError(ShipwayError):
    """Somebody else changed the object first; retrying on fresh state may succeed."""

    exit_code = 4


class AccessError(ShipwayError):
    """The caller is not known, or not allowed to do this; ``subject`` is the object."""

    exit_code = 6


class UnauthenticatedError(AccessError):
    """No credential, or one that is wrong, expired or revoked (HTTP 401)."""


class PermissionDeniedError(AccessError):
    """An authenticated caller whose roles do not allow the action (HTTP 403)."""


class VerificationError(ShipwayError):
    """A signature, attestation or policy check did not pass; the message names what differs."""


class ExternalError(ShipwayError):
    """An external system failed or refused."""

    exit_code = 5


class GitError(ExternalError):
    """A git command or git server failed."""


class RegistryError(ExternalError):
    """An OCI registry refused or failed; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, subject: str | None = None, status: int | None = None):
        super().__init__(message, subject=subject)
        self.status = status


class ClusterError(ExternalError):
    """A deployment target (Kubernetes API, podman host) failed or timed out."""


class CIError(ExternalError):
    """A CI run could not be started or did not complete."""


class ServiceError(ExternalError):
    """A supervised local service (git daemon, registry, controller) did not start."""
