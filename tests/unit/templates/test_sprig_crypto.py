"""sprig's crypto functions as Argo CD templates reach them, checked against sprig itself.

The table's answers are sprig's; where Go and sprig's Debian package
(``golang-github-masterminds-sprig-dev``) are installed, every case is run on real sprig too,
so the table is kept honest. The random ones are checked by their shape and by the other
side: what ``encryptAES`` makes, sprig's ``decryptAES`` reads, and the reverse.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

from shipway.templates.gotemplate import TemplateError, render, sprig_funcs

GO = shutil.which("go")
SPRIG = Path("/usr/share/gocode/src/github.com/Masterminds/sprig/crypto.go")
HARNESS = """package main

import (
	"fmt"
	"os"
	"text/template"

	"github.com/Masterminds/sprig"
)

func main() {
	for _, t := range os.Args[1:] {
		tpl := template.Must(template.New("t").Funcs(sprig.TxtFuncMap()).Parse(t))
		if err := tpl.Execute(os.Stdout, nil); err != nil {
			fmt.Print("ERR ", err)
		}
		fmt.Print("\\x00")
	}
}
"""
CASES = [  # template, sprig's answer
    ('{{ derivePassword 1 "long" "password" "user" "example.com" }}', "ZedaFaxcZaso9*"),
    ('{{ derivePassword 2 "maximum" "pw" "alice" "site.org" }}', "kgXiBkoZlJbHFArZqf1~"),
    ('{{ derivePassword 1 "pin" "pw" "alice" "site.org" }}', "5680"),
    ('{{ derivePassword 3 "medium" "correct horse" "bob" "mail" }}', None),
    ('{{ derivePassword 1 "basic" "pw" "" "" }}', None),
    ('{{ derivePassword 1 "nope" "pw" "u" "s" }}', "cannot find password template nope"),
    ('{{ decryptAES "k" "umEOfOXLdMU+weh6UvfzW8g0gJZ9R0/PctFcDrDun5c=" }}', "hello"),
    ('{{ decryptAES "a key longer than thirty-two bytes, cut" (encryptAES "a key longer than '
     'thirty-two bytes, cut" "sixteen bytes!!!") }}', "sixteen bytes!!!"),
    ('{{ encryptAES "k" "" }}|{{ decryptAES "k" "" }}', "|"),
    ("{{ hello }}", "Hello!"),
    ('{{ trimall "$" "$5.00$" }}', "5.00"),
    ('{{ mustSlice (list 1 2 3 4) 1 3 }}', "[2 3]"),
    ('{{ mustSlice (list 1 2 3 4) 2 }}', "[3 4]"),
    ('{{ genPrivateKey "nope" }}', "Unknown type nope"),
    ('{{ randBytes 12 | len }}', "16"),  # base64 of 12 bytes
]  # fmt: skip


def _render(text: str) -> str:
    return render(text, {}, funcs=sprig_funcs())


@pytest.mark.parametrize(("text", "want"), CASES)
def test_sprig_crypto_cases(text: str, want: str | None) -> None:
    got = _render(text)
    if want is not None:
        assert got == want


@pytest.fixture(scope="module")
def sprig_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if GO is None or not SPRIG.is_file():
        pytest.skip("go and golang-github-masterminds-sprig-dev are not installed")
    d = tmp_path_factory.mktemp("sprig")
    (d / "main.go").write_text(HARNESS)
    env = {"GOPATH": "/usr/share/gocode", "GO111MODULE": "off", "HOME": str(d),
           "GOCACHE": str(d / "cache"), "PATH": "/usr/bin:/bin"}  # fmt: skip
    subprocess.run([GO, "build", "-o", str(d / "run"), "main.go"], cwd=d, env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    return d / "run"


def _sprig(run: Path, *texts: str) -> list[str]:
    out = subprocess.run([str(run), *texts], capture_output=True, text=True, check=True,
                         timeout=120).stdout  # fmt: skip
    return out.split("\x00")[: len(texts)]


def test_the_table_and_shipway_agree_with_sprig(sprig_run: Path) -> None:
    texts = [t for t, _ in CASES if "rand" not in t]
    for text, theirs in zip(texts, _sprig(sprig_run, *texts), strict=True):
        assert _render(text) == theirs, text


def test_each_side_decrypts_what_the_other_encrypts(sprig_run: Path) -> None:
    secret = "s3cret: ünïcode and more than one block of text"
    (theirs,) = _sprig(sprig_run, f'{{{{ encryptAES "pw" "{secret}" }}}}')
    assert _render(f'{{{{ decryptAES "pw" "{theirs}" }}}}') == secret
    ours = _render(f'{{{{ encryptAES "pw" "{secret}" }}}}')
    assert ours != theirs  # a random IV each time
    assert _sprig(sprig_run, f'{{{{ decryptAES "pw" "{ours}" }}}}') == [secret]


@pytest.mark.parametrize(
    ("kind", "pem_head", "cls"),
    [("rsa", "RSA PRIVATE KEY", rsa.RSAPrivateKey), ("", "RSA PRIVATE KEY", rsa.RSAPrivateKey),
     ("ecdsa", "EC PRIVATE KEY", ec.EllipticCurvePrivateKey),
     ("ed25519", "PRIVATE KEY", ed25519.Ed25519PrivateKey),
     ("dsa", "DSA PRIVATE KEY", dsa.DSAPrivateKey)],
)  # fmt: skip
def test_gen_private_key_makes_sprigs_pem_forms(kind: str, pem_head: str, cls: type) -> None:
    pem = _render(f'{{{{ genPrivateKey "{kind}" }}}}')
    assert pem.startswith(f"-----BEGIN {pem_head}-----\n")
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, cls)
    if isinstance(key, rsa.RSAPrivateKey):
        assert key.key_size == 4096
    if isinstance(key, ec.EllipticCurvePrivateKey):
        assert key.curve.name == "secp256r1"


def test_a_wrong_ciphertext_is_an_error_naming_the_function() -> None:
    for bad, why in (("not base64!", "illegal base64"), ("c2hvcnQ=", "ciphertext too short")):
        with pytest.raises(TemplateError, match=rf"decryptAES.*{why}"):
            _render(f'{{{{ decryptAES "k" "{bad}" }}}}')


@pytest.mark.parametrize(
    "name",
    [
        "getHostByName",
    ],
)
def test_what_is_not_built_is_refused_naming_it(name: str) -> None:
    with pytest.raises(TemplateError, match=rf"sprig's {name} is not supported by shipway yet"):
        _render(f'{{{{ {name} "a" "b" }}}}')


VERIFY = """package main

import (
	"fmt"
	"os"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	fmt.Print(bcrypt.CompareHashAndPassword([]byte(os.Args[1]), []byte(os.Args[2])) == nil)
}
"""


def test_bcrypt_and_htpasswd_are_gos_form() -> None:
    import ctypes
    import ctypes.util

    got = _render('{{ bcrypt "s3cret pw" }}')
    assert got.startswith("$2a$10$") and len(got) == 60
    assert got != _render('{{ bcrypt "s3cret pw" }}')  # a new salt each time
    lib = ctypes.CDLL(ctypes.util.find_library("crypt"))
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    assert lib.crypt(b"s3cret pw", got.encode()) == got.encode()  # it verifies
    assert lib.crypt(b"another", got.encode()) != got.encode()
    user, _, hashed = _render('{{ htpasswd "admin" "pw" }}').partition(":")
    assert user == "admin" and lib.crypt(b"pw", hashed.encode()) == hashed.encode()
    assert _render('{{ htpasswd "a:b" "pw" }}') == "invalid username: a:b"


def test_go_verifies_our_bcrypt_and_we_verify_sprigs(sprig_run: Path, tmp_path: Path) -> None:
    import ctypes
    import ctypes.util

    (tmp_path / "main.go").write_text(VERIFY)
    env = {"GOPATH": "/usr/share/gocode", "GO111MODULE": "off", "HOME": str(tmp_path),
           "GOCACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}  # fmt: skip
    assert GO is not None
    subprocess.run([GO, "build", "-o", str(tmp_path / "verify"), "main.go"], cwd=tmp_path,
                   env=env, check=True, capture_output=True, timeout=300)  # fmt: skip
    ours = _render('{{ bcrypt "pw" }}')
    for pw, want in (("pw", "true"), ("nope", "false")):
        out = subprocess.run([str(tmp_path / "verify"), ours, pw], capture_output=True,
                             text=True, check=True, timeout=60).stdout  # fmt: skip
        assert out == want
    (theirs,) = _sprig(sprig_run, '{{ bcrypt "pw" }}')
    lib = ctypes.CDLL(ctypes.util.find_library("crypt"))
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    assert theirs.startswith("$2a$10$") and lib.crypt(b"pw", theirs.encode()) == theirs.encode()


CA_AND_LEAF = """\
{{- $ca := genCA "shipway-ca" 30 -}}
{{- $leaf := genSignedCert "web.example" (list "10.0.0.7") (list "web.example" "www.example") 7 $ca -}}
{{- $self := genSelfSignedCert "self.example" nil (list "self.example") 2 -}}
{{- toJson (dict "ca" $ca "leaf" $leaf "self" $self) -}}
"""


def test_certificates_as_sprig_makes_them() -> None:
    import datetime as dt
    import ipaddress
    import json

    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    got = json.loads(_render(CA_AND_LEAF))
    ca = x509.load_pem_x509_certificate(got["ca"]["Cert"].encode())
    leaf = x509.load_pem_x509_certificate(got["leaf"]["Cert"].encode())
    self_signed = x509.load_pem_x509_certificate(got["self"]["Cert"].encode())
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "shipway-ca"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign is True
    leaf.verify_directly_issued_by(ca)  # signed by the CA's key
    self_signed.verify_directly_issued_by(self_signed)
    assert leaf.issuer == ca.subject
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["web.example", "www.example"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.7")]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    life = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert life == dt.timedelta(days=7)
    key = serialization.load_pem_private_key(got["leaf"]["Key"].encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert got["leaf"]["Key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert leaf.serial_number != ca.serial_number


def test_certificates_with_a_given_key_and_built_from_base64() -> None:
    import json

    from cryptography import x509

    pem = _render('{{ genPrivateKey "ecdsa" }}')
    text = ('{{- $ca := genCAWithKey "ec-ca" 3 "' + pem.replace("\n", "\\n") + '" -}}'
            '{{- $b := buildCustomCert ($ca.Cert | b64enc) ($ca.Key | b64enc) -}}'
            '{{- $leaf := genSignedCertWithKey "x" nil nil 1 $b "' + pem.replace("\n", "\\n")
            + '" -}}{{ toJson (dict "ca" $ca "leaf" $leaf) }}')  # fmt: skip
    got = json.loads(_render(text))
    assert got["ca"]["Key"] == pem  # the key given, in its own form
    ca = x509.load_pem_x509_certificate(got["ca"]["Cert"].encode())
    x509.load_pem_x509_certificate(got["leaf"]["Cert"].encode()).verify_directly_issued_by(ca)
    for bad, why in (
        ('buildCustomCert "!!" "a2V5"', "unable to decode base64 certificate"),
        ('buildCustomCert "bm8=" "a2V5"', "error parsing certificate"),
        ('genSignedCert "x" nil nil 1 "not a ca"', "unable to decode certificate"),
        ('genSelfSignedCert "x" (list "nope") nil 1', "error parsing ip: nope"),
    ):
        with pytest.raises(TemplateError, match=why):
            _render("{{ " + bad + " }}")


def test_go_takes_our_certificates_and_keys(sprig_run: Path) -> None:
    import json

    got = json.loads(_render(CA_AND_LEAF))
    b64 = {k: base64.b64encode(got["ca"][k].encode()).decode() for k in ("Cert", "Key")}
    (out,) = _sprig(sprig_run, '{{ $ca := buildCustomCert "' + b64["Cert"] + '" "' + b64["Key"]
                    + '" }}{{ (genSignedCert "from-go" nil nil 1 $ca).Cert | len }}')  # fmt: skip
    assert not out.startswith("ERR") and int(out) > 500, out
