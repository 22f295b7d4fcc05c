"""Signing keys: ECDSA P-256 key pairs in PEM, and raw signatures over bytes.

``generate`` writes ``PREFIX.key`` (PKCS#8, encrypted with the password from
``SHIPWAY_SIGNING_PASSWORD`` or ``COSIGN_PASSWORD``; unencrypted when the
password is empty) and ``PREFIX.pub`` (PKIX ``PUBLIC KEY`` PEM, the form
``cosign.pub`` has, so cosign's public keys verify here too). Signatures are
ECDSA with SHA-256, DER-encoded, as cosign makes them. Verification also
accepts RSA (PKCS#1 v1.5, SHA-256) and Ed25519 public keys.

Touches only the key files it is given.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from shipway.model.errors import InputError, NotFoundError

PASSWORD_VARS = ("SHIPWAY_SIGNING_PASSWORD", "COSIGN_PASSWORD")
_COSIGN_PRIVATE = (b"ENCRYPTED COSIGN PRIVATE KEY", b"ENCRYPTED SIGSTORE PRIVATE KEY")

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


def password_from_env() -> bytes:
    for var in PASSWORD_VARS:
        if var in os.environ:
            return os.environ[var].encode()
    return b""


@dataclass(frozen=True)
class Signer:
    """A loaded private key; ``keyid`` is the SHA-256 of its public key's DER form."""

    key: ec.EllipticCurvePrivateKey
    keyid: str

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

    def verifier(self) -> Verifier:
        return Verifier(self.key.public_key(), self.keyid, "the signing key")


@dataclass(frozen=True)
class Verifier:
    """A loaded public key and the file it came from."""

    key: PublicKey
    keyid: str
    source: str

    def verify(self, data: bytes, signature: bytes) -> bool:
        try:
            if isinstance(self.key, ec.EllipticCurvePublicKey):
                self.key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
            elif isinstance(self.key, rsa.RSAPublicKey):
                self.key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


def _keyid(pub: PublicKey) -> str:
    der = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def generate(prefix: str | Path, password: bytes | None = None) -> tuple[Path, Path]:
    """Write ``PREFIX.key`` and ``PREFIX.pub``; refuses to overwrite either."""
    base = Path(prefix)
    key_path, pub_path = base.with_name(base.name + ".key"), base.with_name(base.name + ".pub")
    for path in (key_path, pub_path):
        if path.exists():
            raise InputError(
                "already exists; remove it or choose another prefix", subject=str(path)
            )
    pw = password_from_env() if password is None else password
    key = ec.generate_private_key(ec.SECP256R1())
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(pw) if pw else serialization.NoEncryption()
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    pub_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem)
    pub_path.write_bytes(pub_pem)
    return key_path, pub_path


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError("no such key file", subject=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read key: {exc.strerror}", subject=str(path)) from None


def load_signer(path: str | Path, password: bytes | None = None) -> Signer:
    """Load an ECDSA private key (PKCS#8 or SEC1 PEM, encrypted or not)."""
    p = Path(path)
    data = _read(p)
    if any(marker in data for marker in _COSIGN_PRIVATE):
        raise InputError(
            "cosign's own encrypted key format (scrypt + secretbox) is not read; "
            "generate a key with `shipway image key generate`, or export an "
            "unencrypted PKCS#8 PEM",
            subject=str(p),
        )
    pw = password_from_env() if password is None else password
    try:
        key = serialization.load_pem_private_key(data, password=pw or None)
    except TypeError:
        raise InputError(
            "the key is encrypted: set SHIPWAY_SIGNING_PASSWORD (or COSIGN_PASSWORD)",
            subject=str(p),
        ) from None
    except ValueError as exc:
        reason = "wrong password" if b"ENCRYPTED" in data else f"not a PEM private key ({exc})"
        raise InputError(reason, subject=str(p)) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InputError("signing keys must be ECDSA (P-256)", subject=str(p))
    return Signer(key, _keyid(key.public_key()))


def load_verifier(path: str | Path) -> Verifier:
    """Load a PEM public key (ECDSA, RSA or Ed25519)."""
    p = Path(path)
    data = _read(p)
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        first = data.splitlines()[0][:60].decode(errors="replace") if data else ""
        raise InputError(
            f"not a PEM public key ({exc}); line 1: {first!r}", subject=f"{p}:1"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise InputError(f"unsupported public key type {type(key).__name__}", subject=str(p))
    return Verifier(key, _keyid(key), str(p))


def verifier_from_pem(pem: str, source: str) -> Verifier:
    """A verifier from PEM text inline (Kyverno's ``attestors[].entries[].keys.publicKeys``)."""
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except ValueError as exc:
        raise InputError(f"not a PEM public key ({exc})", subject=source) from None
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise InputError(f"unsupported public key type {type(key).__name__}", subject=source)
    return Verifier(key, _keyid(key), source)
