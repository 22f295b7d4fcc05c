"""``shipway image key generate|sign|verify|attest|attestations``: image signatures.

Signatures and attestations are stored in the registry in cosign's layout
(``shipway.security.sign``). Exit codes: 0 verified, 1 verification failed,
2 bad input (a key that does not load), 3 no such image, 5 registry failure.
Keyless signing is not served: no ``--key``, cosign's keyless flags
(``--certificate-identity``, ``--identity-token``...) or a KMS key reference
exit 2 saying so.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from shipway.cli import output as out

if TYPE_CHECKING:
    from shipway.images.registry import RegistryClient

_insecure = click.option(
    "--insecure",
    is_flag=True,
    default=None,
    help="Skip TLS verification (plain HTTP if TLS fails).",
)


# cosign's keyless flags: accepted only to say that keyless signing is not served
_KEYLESS_FLAGS = (
    "--certificate-identity",
    "--certificate-identity-regexp",
    "--certificate-oidc-issuer",
    "--certificate-oidc-issuer-regexp",
    "--certificate",
    "--certificate-chain",
    "--identity-token",
    "--oidc-issuer",
    "--fulcio-url",
    "--rekor-url",
)


def _keyless(fn: Any) -> Any:
    for flag in reversed(_KEYLESS_FLAGS):
        dest = "keyless_" + flag.lstrip("-").replace("-", "_")
        fn = click.option(flag, dest, hidden=True, default=None)(fn)
    return fn


def _key(key: str | None, options: dict[str, Any], required: bool = True) -> str | None:
    """The --key given, or the refusal of keyless signing (no --key, or a keyless flag)."""
    from shipway.model.errors import InputError
    from shipway.security.sign import keys

    cmd = click.get_current_context().command_path
    used = [f for f in _KEYLESS_FLAGS if options.get("keyless_" + f[2:].replace("-", "_"))]
    if used:
        raise InputError(f"{', '.join(used)}: {keys.KEYLESS}", subject=cmd)
    if key is None and required:
        raise InputError(f"no --key given, and {keys.KEYLESS}", subject=cmd)
    return key


@click.group("key")
def key_group() -> None:
    """Signing keys (ECDSA P-256, PEM)."""


@key_group.command("generate")
@click.argument("prefix", type=click.Path(dir_okay=False, path_type=Path))
def generate_cmd(prefix: Path) -> None:
    """Write PREFIX.key (encrypted with $SHIPWAY_SIGNING_PASSWORD) and PREFIX.pub."""
    from shipway.security.sign import keys

    key_path, pub_path = keys.generate(prefix)
    click.echo(f"Private key written to {key_path}")
    click.echo(f"Public key written to {pub_path}")


def _client(ref_text: str, insecure: bool | None) -> RegistryClient:
    from shipway.images import reference, transfer

    return transfer.client_for(reference.parse(ref_text), insecure)


_KEY_HELP = "PEM key file (keyless signing is not supported)."


@click.command("sign")
@click.argument("ref")
@click.option("--key", "key_path", help="Private " + _KEY_HELP)
@click.option("-a", "--annotation", "annotations", multiple=True, help="K=V in the payload.")
@_insecure
@_keyless
def sign_cmd(
    ref: str, key_path: str | None, annotations: tuple[str, ...], insecure: bool | None, **kw: Any
) -> None:
    """Sign REF (a tag is resolved to its digest) and store the signature in the registry."""
    from shipway.security.sign import keys, service

    signer = keys.load_signer(str(_key(key_path, kw)))
    pairs = dict(a.partition("=")[::2] for a in annotations)
    with _client(ref, insecure) as client:
        target = service.resolve(client, ref)
        tag = service.sign(client, target, signer, pairs or None)
    click.echo(f"Signed {target.pinned}; signature stored at {target.name}:{tag}", err=True)


@click.command("verify")
@click.argument("ref")
@click.option("--key", "key_path", help="Public " + _KEY_HELP)
@_insecure
@out.data_output_option
@_keyless
def verify_cmd(
    ref: str, key_path: str | None, insecure: bool | None, output: str, **kw: Any
) -> None:
    """Verify REF's signatures with a public key; prints the verified payloads."""
    from shipway.security.sign import keys, service

    verifier = keys.load_verifier(str(_key(key_path, kw)))
    with _client(ref, insecure) as client:
        target = service.resolve(client, ref)
        checked = service.verify(client, target, verifier)
    good = [c for c in checked if c.verified]
    click.echo(f"Verification for {target.pinned} --", err=True)
    click.echo("  the signatures were verified against the specified public key", err=True)
    if not out.emit([c.as_dict() for c in checked], output):
        for c in good:
            click.echo(json.dumps(c.payload, separators=(",", ":")))


@click.command("attest")
@click.argument("ref")
@click.option("--key", "key_path", help="Private " + _KEY_HELP)
@click.option(
    "--predicate", "predicate_path", required=True, type=click.Path(path_type=Path, exists=True)
)
@click.option(
    "--type",
    "predicate_type",
    default="https://slsa.dev/provenance/v1",
    help="Predicate type URI (slsaprovenance1, cyclonedx, spdxjson or a URI).",
)
@_insecure
@_keyless
def attest_cmd(
    ref: str,
    key_path: str | None,
    predicate_path: Path,
    predicate_type: str,
    insecure: bool | None,
    **kw: Any,
) -> None:
    """Attach a signed in-toto attestation (DSSE) with PREDICATE to REF."""
    from shipway.model.errors import InputError
    from shipway.security.sign import envelope, keys, service

    aliases = {
        "slsaprovenance1": envelope.SLSA_PROVENANCE_V1,
        "cyclonedx": envelope.CYCLONEDX_PREDICATE,
        "spdxjson": envelope.SPDX_PREDICATE,
    }
    ptype = aliases.get(predicate_type, predicate_type)
    try:
        predicate = json.loads(predicate_path.read_text())
    except ValueError as exc:
        raise InputError(f"predicate is not JSON ({exc})", subject=str(predicate_path)) from None
    if not isinstance(predicate, dict):
        raise InputError("predicate must be a JSON object", subject=str(predicate_path))
    signer = keys.load_signer(str(_key(key_path, kw)))
    with _client(ref, insecure) as client:
        target = service.resolve(client, ref)
        tag = service.attest(client, target, signer, ptype, predicate)
    click.echo(f"Attested {target.pinned} ({ptype}); stored at {target.name}:{tag}", err=True)


@click.command("attestations")
@click.argument("ref")
@click.option("--key", "key_path", help="Verify with this public " + _KEY_HELP)
@click.option("--type", "predicate_type", help="Only this predicate type.")
@_insecure
@out.data_output_option
@_keyless
def attestations_cmd(
    ref: str,
    key_path: str | None,
    predicate_type: str | None,
    insecure: bool | None,
    output: str,
    **kw: Any,
) -> None:
    """List REF's attestations (verified with --key when given)."""
    from shipway.security.sign import keys, service

    key_path = _key(key_path, kw, required=False)
    verifier = keys.load_verifier(key_path) if key_path else None
    with _client(ref, insecure) as client:
        target = service.resolve(client, ref)
        found = service.attestations(client, target, verifier, predicate_type)
    if out.emit([c.as_dict() for c in found], output):
        return
    rows = [
        (c.payload.get("predicateType", "?"), "yes" if c.verified else "no", c.reason, c.where)
        for c in found
    ]
    out.table(["PREDICATE TYPE", "VERIFIED", "REASON", "STORED AT"], rows)
    if key_path and found and not all(c.verified for c in found):
        raise SystemExit(1)


def register() -> None:
    """Attach the signing commands to ``shipway image``."""
    image = importlib.import_module("shipway.cli.image").image
    for cmd in (key_group, sign_cmd, verify_cmd, attest_cmd, attestations_cmd):
        image.add_command(cmd)
