"""sprig's certificate functions, as sprig documents them.

Each answers sprig's ``certificate`` (``.Cert`` and ``.Key``, PEM), an RSA 2048 key unless
one is given (``…WithKey``: a PEM key in sprig's forms, RSA, EC, Ed25519, PKCS#8 or DSA):

- ``genCA CN DAYS`` / ``genCAWithKey CN DAYS KEY``: a self-signed CA (basic constraints
  CA, critical; key usage digital signature, key encipherment and certificate signing);
- ``genSelfSignedCert CN IPS ALTNAMES DAYS`` / ``genSelfSignedCertWithKey … KEY``;
- ``genSignedCert CN IPS ALTNAMES DAYS CA`` / ``genSignedCertWithKey … CA KEY``: signed by
  the certificate ``CA`` (a ``genCA`` or ``buildCustomCert`` answer);
- ``buildCustomCert B64CERT B64KEY``: a certificate and key given in base64, both checked.

Every certificate: a random 128-bit serial, the common name as the subject, the IPs and
alternative names as its subject alternative names, valid from now for DAYS days, key usage
digital signature and key encipherment (critical), extended key usage server and client
authentication. Errors are sprig's words. Pure but for the random keys and serials.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shipway.templates.gojson import to_int
from shipway.templates.gotemplate.exec import FuncError
from shipway.templates.gotemplate.funcs_values import strval

_FORMATS = {"RSA": serialization.PrivateFormat.TraditionalOpenSSL,
            "EC": serialization.PrivateFormat.TraditionalOpenSSL,
            "DSA": serialization.PrivateFormat.TraditionalOpenSSL}  # fmt: skip


def key_pem(key: Any) -> str:
    """A private key in sprig's PEM forms (PKCS#1, SEC 1, DSA's; PKCS#8 for the others)."""
    kind = ("RSA" if isinstance(key, rsa.RSAPrivateKey) else "EC"
            if isinstance(key, ec.EllipticCurvePrivateKey) else "DSA"
            if isinstance(key, dsa.DSAPrivateKey) else "")  # fmt: skip
    fmt = _FORMATS.get(kind, serialization.PrivateFormat.PKCS8)
    pem: bytes = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
    return pem.decode()


def parse_key(text: Any) -> Any:
    try:
        return serialization.load_pem_private_key(strval(text).encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise FuncError(f"parsing private key: {exc}") from None


def _list(values: Any, what: str) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list | tuple):
        raise FuncError(f"error parsing {what}: {values!r} is not a list")
    for v in values:
        if not isinstance(v, str):
            raise FuncError(f"error parsing {what}: {v} is not a string")
    return list(values)


def _cert(cn: Any, ips: Any, names: Any, days: Any, key: Any, *, ca: bool = False,
          signer: tuple[x509.Certificate, Any] | None = None) -> dict[str, str]:  # fmt: skip
    addresses = []
    for ip in _list(ips, "ip"):
        try:
            addresses.append(ipaddress.ip_address(ip))
        except ValueError:
            raise FuncError(f"error parsing ip: {ip}") from None
    dns = _list(names, "alternate dns name")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, strval(cn))]) if strval(
        cn) else x509.Name([])  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    issuer_name, signing_key = (signer[0].subject, signer[1]) if signer else (subject, key)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(secrets.randbits(128) or 1)
         .not_valid_before(now).not_valid_after(now + dt.timedelta(days=to_int(days))))  # fmt: skip
    b = b.add_extension(x509.KeyUsage(
        digital_signature=True, key_encipherment=True, key_cert_sign=ca, content_commitment=False,
        data_encipherment=False, key_agreement=False, crl_sign=False, encipher_only=False,
        decipher_only=False), critical=True)  # fmt: skip
    b = b.add_extension(
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
        critical=False,
    )
    b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    if addresses or dns:
        alt: list[x509.GeneralName] = [x509.DNSName(n) for n in dns]
        alt += [x509.IPAddress(a) for a in addresses]
        b = b.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    if ca:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False)  # fmt: skip
    if signer is not None:
        with_ski = signer[0].extensions
        try:
            ski = with_ski.get_extension_for_class(x509.SubjectKeyIdentifier).value
            b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                ski), critical=False)  # fmt: skip
        except x509.ExtensionNotFound:
            pass
    algo = None if isinstance(signing_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    try:
        cert = b.sign(signing_key, algo)
    except (TypeError, ValueError) as exc:
        raise FuncError(f"error creating certificate: {exc}") from None
    return {"Cert": cert.public_bytes(serialization.Encoding.PEM).decode(), "Key": key_pem(key)}


def _rsa() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _signer(ca: Any) -> tuple[x509.Certificate, Any]:
    if not isinstance(ca, Mapping):
        raise FuncError("unable to decode certificate")
    try:
        cert = x509.load_pem_x509_certificate(strval(ca.get("Cert")).encode())
    except ValueError:
        raise FuncError("unable to decode certificate") from None
    try:
        key = serialization.load_pem_private_key(strval(ca.get("Key")).encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise FuncError(f"error parsing private key: {exc}") from None
    return cert, key


def build_custom_cert(b64cert: Any, b64key: Any) -> dict[str, str]:
    try:
        cert = base64.b64decode(strval(b64cert), validate=True).decode()
    except ValueError:
        raise FuncError("unable to decode base64 certificate") from None
    try:
        key = base64.b64decode(strval(b64key), validate=True).decode()
    except ValueError:
        raise FuncError("unable to decode base64 private key") from None
    try:
        x509.load_pem_x509_certificate(cert.encode())
    except ValueError as exc:
        raise FuncError(f"error parsing certificate: {exc}") from None
    try:
        serialization.load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise FuncError(f"error parsing private key: {exc}") from None
    return {"Cert": cert, "Key": key}


CERTS: dict[str, Callable[..., Any]] = {
    "genCA": lambda cn, days: _cert(cn, None, None, days, _rsa(), ca=True),
    "genCAWithKey": lambda cn, days, key: _cert(cn, None, None, days, parse_key(key), ca=True),
    "genSelfSignedCert": lambda cn, ips, names, days: _cert(cn, ips, names, days, _rsa()),
    "genSelfSignedCertWithKey": lambda cn, ips, names, days, key: _cert(
        cn, ips, names, days, parse_key(key)),
    "genSignedCert": lambda cn, ips, names, days, ca: _cert(
        cn, ips, names, days, _rsa(), signer=_signer(ca)),
    "genSignedCertWithKey": lambda cn, ips, names, days, ca, key: _cert(
        cn, ips, names, days, parse_key(key), signer=_signer(ca)),
    "buildCustomCert": build_custom_cert,
}  # fmt: skip
