"""sprig's crypto functions, and the few names the other ``funcs_sprig*`` modules miss.

As sprig documents them (and answers them; ``tests/unit/templates/test_sprig_crypto.py``
checks the answers of sprig itself where it is installed):

- ``encryptAES PASSWORD TEXT``: AES-256-CBC with the password's bytes as the key (cut or
  padded with zero bytes to 32), PKCS#7 padding, a random IV in front, base64;
  ``decryptAES PASSWORD B64`` undoes it ("" for "");
- ``derivePassword COUNTER TYPE PASSWORD USER SITE``: the Master Password algorithm (scrypt
  N=32768, r=8, p=2 on the password salted with ``com.lyndir.masterpassword``, the user's
  length and name; HMAC-SHA256 of the seed, the site's length and name and the counter;
  a template of the type, ``maximum``, ``long``, ``medium``, ``short``, ``basic`` or
  ``pin``, filled from the seed);
- ``genPrivateKey TYPE``: a PEM private key, ``rsa`` (4096 bits, PKCS#1), ``ecdsa`` (P-256,
  SEC 1), ``ed25519`` (PKCS#8) or ``dsa`` (2048/256);
- ``randBytes N``: N random bytes, base64;
- ``bcrypt TEXT`` (Go's ``$2a$``, cost 10, by the system's libcrypt) and ``htpasswd USER
  PASSWORD`` (``user:<bcrypt>``);
- ``hello``, ``trimall`` (``trimAll``), ``mustSlice`` (a list's ``[i:j]``),
  ``must_date_modify`` (``mustDateModify``).

The certificate functions are ``funcs_sprig_certs``. Not built, refused when called with a
message naming the function: ``getHostByName``.
Pure but for the random ones (and libcrypt, loaded for bcrypt); touches no file.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import hashlib
import hmac
import os
import struct
import threading
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shipway.templates.gojson import to_int
from shipway.templates.gotemplate.exec import FuncError
from shipway.templates.gotemplate.funcs_sprig_certs import CERTS
from shipway.templates.gotemplate.funcs_values import strval

_BLOCK = 16


def _key(password: Any) -> bytes:
    return strval(password).encode()[:32].ljust(32, b"\0")


def encrypt_aes(password: Any, text: Any) -> str:
    plain = strval(text).encode()
    if not plain:
        return ""
    pad = _BLOCK - len(plain) % _BLOCK
    iv = os.urandom(_BLOCK)
    enc = Cipher(algorithms.AES(_key(password)), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + enc.update(plain + bytes([pad]) * pad) + enc.finalize()).decode()


def decrypt_aes(password: Any, crypt64: Any) -> str:
    raw = strval(crypt64)
    if not raw:
        return ""
    try:
        data = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise FuncError(f"illegal base64 data: {exc}") from None
    if len(data) < _BLOCK:
        raise FuncError("ciphertext too short")
    if len(data) % _BLOCK:
        raise FuncError("crypto/cipher: input not full blocks")
    dec = Cipher(algorithms.AES(_key(password)), modes.CBC(data[:_BLOCK])).decryptor()
    out = dec.update(data[_BLOCK:]) + dec.finalize()
    if not out:
        return ""
    pad = out[-1]
    if pad > len(out):
        raise FuncError("decryptAES: the padding is wrong (another password?)")
    return out[: len(out) - pad].decode("utf-8", "replace")


_SEED = b"com.lyndir.masterpassword"
_TEMPLATES = {
    "maximum": ("anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"),
    "long": tuple(
        a + b + c
        for a, b, c in (
            ("Cvcvno", "Cvcv", "Cvcv"), ("Cvcv", "Cvcvno", "Cvcv"), ("Cvcv", "Cvcv", "Cvcvno"),
            ("Cvccno", "Cvcv", "Cvcv"), ("Cvcc", "Cvcvno", "Cvcv"), ("Cvcc", "Cvcv", "Cvcvno"),
            ("Cvcvno", "Cvcc", "Cvcv"), ("Cvcv", "Cvccno", "Cvcv"), ("Cvcv", "Cvcc", "Cvcvno"),
            ("Cvcvno", "Cvcv", "Cvcc"), ("Cvcv", "Cvcvno", "Cvcc"), ("Cvcv", "Cvcv", "Cvccno"),
            ("Cvccno", "Cvcc", "Cvcv"), ("Cvcc", "Cvccno", "Cvcv"), ("Cvcc", "Cvcc", "Cvcvno"),
            ("Cvcvno", "Cvcc", "Cvcc"), ("Cvcv", "Cvccno", "Cvcc"), ("Cvcv", "Cvcc", "Cvccno"),
            ("Cvccno", "Cvcv", "Cvcc"), ("Cvcc", "Cvcvno", "Cvcc"), ("Cvcc", "Cvcv", "Cvccno"),
        )
    ),
    "medium": ("CvcnoCvc", "CvcCvcno"),
    "short": ("Cvcn",),
    "basic": ("aaanaaan", "aannaaan", "aaannaaa"),
    "pin": ("nnnn",),
}  # fmt: skip
_VOWELS, _CONSONANTS = "AEIOU", "BCDFGHJKLMNPQRSTVWXYZ"
_CHARS = {
    "V": _VOWELS, "C": _CONSONANTS, "v": _VOWELS.lower(), "c": _CONSONANTS.lower(),
    "A": _VOWELS + _CONSONANTS,
    "a": _VOWELS + _VOWELS.lower() + _CONSONANTS + _CONSONANTS.lower(),
    "n": "0123456789", "o": "@&%?,=[]_:-+*$#!'^~;()/.",
    "x": _VOWELS + _VOWELS.lower() + _CONSONANTS + _CONSONANTS.lower() + "0123456789"
         "!@#$%^&*()",
}  # fmt: skip


def derive_password(counter: Any, kind: Any, password: Any, user: Any, site: Any) -> str:
    templates = _TEMPLATES.get(strval(kind))
    if templates is None:
        return f"cannot find password template {strval(kind)}"
    name, where = strval(user).encode(), strval(site).encode()
    salt = _SEED + struct.pack(">I", len(name)) + name
    key = hashlib.scrypt(strval(password).encode(), salt=salt, n=32768, r=8, p=2, dklen=64,
                         maxmem=64 * 1024 * 1024)  # fmt: skip
    msg = (
        _SEED
        + struct.pack(">I", len(where))
        + where
        + struct.pack(">I", to_int(counter) & 0xFFFFFFFF)
    )
    seed = hmac.new(key, msg, hashlib.sha256).digest()
    template = templates[seed[0] % len(templates)]
    return "".join(_CHARS[c][seed[i + 1] % len(_CHARS[c])] for i, c in enumerate(template))


def gen_private_key(kind: Any) -> str:
    k = strval(kind)
    if k in ("", "rsa"):
        key: Any = rsa.generate_private_key(public_exponent=65537, key_size=4096)
        fmt = serialization.PrivateFormat.TraditionalOpenSSL  # RSA PRIVATE KEY (PKCS#1)
    elif k == "ecdsa":
        key, fmt = (
            ec.generate_private_key(ec.SECP256R1()),
            serialization.PrivateFormat.TraditionalOpenSSL,
        )
    elif k == "ed25519":
        key, fmt = ed25519.Ed25519PrivateKey.generate(), serialization.PrivateFormat.PKCS8
    elif k == "dsa":
        key, fmt = (
            dsa.generate_private_key(key_size=2048),
            serialization.PrivateFormat.TraditionalOpenSSL,
        )
    else:
        return "Unknown type " + k
    pem: bytes = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
    return pem.decode()


def rand_bytes(count: Any) -> str:
    return base64.b64encode(os.urandom(max(0, to_int(count)))).decode()


def must_slice(items: Any, *indices: Any) -> list[Any]:
    if not isinstance(items, list | tuple):
        raise FuncError(f"list should be type of slice or array but {type(items).__name__}")
    n = len(items)
    if not indices:
        return list(items)
    lo = to_int(indices[0])
    hi = to_int(indices[1]) if len(indices) > 1 else n
    if not 0 <= lo <= hi <= n:
        raise FuncError(f"slice bounds out of range [{lo}:{hi}] with capacity {n}")
    return list(items[lo:hi])


_CRYPT_LOCK = threading.Lock()
_LIBCRYPT: list[Any] = []


def _libcrypt() -> Any:
    """The system's libcrypt (libxcrypt: bcrypt among its methods), loaded once."""
    if not _LIBCRYPT:
        name = ctypes.util.find_library("crypt")
        if name is None:
            raise FuncError("bcrypt needs the system's libcrypt, which is not installed")
        lib = ctypes.CDLL(name)
        lib.crypt_gensalt.restype = ctypes.c_char_p
        lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p,
                                      ctypes.c_int]  # fmt: skip
        lib.crypt.restype = ctypes.c_char_p
        lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        _LIBCRYPT.append(lib)
    return _LIBCRYPT[0]


def bcrypt(text: Any) -> str:
    """sprig's ``bcrypt``: Go's ``$2a$`` form at its default cost, 10 (libcrypt's bcrypt)."""
    raw = strval(text).encode()
    if b"\0" in raw or len(raw) > 72:
        return "failed to encrypt string with bcrypt: password length exceeds 72 bytes"
    with _CRYPT_LOCK:  # crypt() answers in a static buffer
        lib = _libcrypt()
        salt = lib.crypt_gensalt(b"$2a$", 10, None, 0)
        out = lib.crypt(raw, salt) if salt else None
    if not out or not out.startswith(b"$2a$"):
        raise FuncError("bcrypt: libcrypt gave no bcrypt hash")
    return str(out.decode())


def htpasswd(user: Any, password: Any) -> str:
    name = strval(user)
    if ":" in name:
        return f"invalid username: {name}"
    return f"{name}:{bcrypt(password)}"


def _not_built(name: str, why: str) -> Callable[..., Any]:
    def refuse(*_args: Any) -> Any:
        raise FuncError(f"sprig's {name} is not supported by shipway yet ({why})")

    return refuse


_NOT_BUILT = {
    "getHostByName": "templates do no DNS look-ups",
}  # fmt: skip

CRYPTO: dict[str, Callable[..., Any]] = {
    "encryptAES": encrypt_aes, "decryptAES": decrypt_aes, "derivePassword": derive_password,
    "genPrivateKey": gen_private_key, "randBytes": rand_bytes, "hello": lambda: "Hello!",
    "trimall": lambda cut, s: strval(s).strip(strval(cut)), "mustSlice": must_slice,
    "bcrypt": bcrypt, "htpasswd": htpasswd,
    **CERTS,
    **{name: _not_built(name, why) for name, why in _NOT_BUILT.items()},
}  # fmt: skip
