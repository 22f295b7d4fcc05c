"""A representative subset of the documented corpus (``corpus/``) delivered end to end: the
catalog's templates and the webhook page's commit-status template to a real SMTP server,
a Slack-compatible API and loopback webhooks; Flux's documented generic-hmac Provider and
inclusion/exclusion Alert to a receiver that checks the signature. Only addresses are
changed (to the loopback receivers); every other field is the corpus's."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import ssl
import threading
import urllib.request
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from notify_receivers import Receiver, Smtp
from test_documented_corpus import CATALOG, DOCS, SECRET, _docs, _status

import forge_apps
from forge_server import TOKEN, ForgeServer
from shipway import cluster
from shipway.cluster.memory import MemoryTarget
from shipway.deploy import engine
from shipway.git.forge import open_forge
from shipway.git.repo import Repo
from shipway.model import events as ev
from shipway.model.resources import Resource
from shipway.notify import worker, worker_flux
from shipway.settings import Settings
from shipway.store import events, outbox, resources
from shipway.store.db import Store, open_store

ANN = "notifications.argoproj.io/subscribe."


@pytest.fixture
def store(shipway_home: Path) -> Store:
    return open_store(Settings(home=shipway_home))


def _put(store: Store, doc: dict[str, Any]) -> None:
    meta = doc["metadata"]
    resources.apply(store, [Resource(doc["apiVersion"], doc["kind"], meta["name"],
                                     meta.get("namespace", ""), doc)])  # fmt: skip


def test_catalog_and_documented_templates_reach_real_receivers(
    store: Store, smtp: Smtp, slack_api: Receiver, webhook: Receiver
) -> None:
    webhook.reply = b"1"  # what a Teams connector answers; the webhook service takes it too
    data = {
        **CATALOG,
        "template.github-commit-status": DOCS["template.github-commit-status"],
        "trigger.sync-operation-change": DOCS["trigger.sync-operation-change"],
        "service.email": f"host: 127.0.0.1\nport: {smtp.port}\nfrom: $email-address\n",
        "service.slack": DOCS["service.slack"] + f"apiURL: {slack_api.url}\n",
        "service.teams": f"recipientUrls:\n  channelName: {webhook.url}/teams/channel\n",
        "service.webhook.github-api": DOCS["service.webhook.github-api"].replace(
            "https://api.github.example", f"{webhook.url}/gh"),
    }  # fmt: skip
    _put(store, {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "argocd-notifications-cm", "namespace": "argocd"},
                 "data": data})  # fmt: skip
    app = _docs("argocd-apps.yaml")[1]
    app["metadata"]["annotations"] = {
        f"{ANN}on-sync-succeeded.email": "ops@example.com",
        f"{ANN}on-sync-succeeded.slack": "deploys",
        f"{ANN}on-deployed.teams": "channelName",
        f"{ANN}sync-operation-change.github-api": "",
    }
    _put(store, app)
    resources.set_status(store, "Application", "guestbook", _status(), namespace="argocd")
    sent = worker.run_pass(store, secrets=SECRET)
    assert (sent.sent, sent.failed) == (4, 0)

    (mail,) = smtp.mailbox.messages
    assert mail["Subject"] == "guestbook synced"
    assert mail["From"] == "cd@example.com" and mail["To"] == "ops@example.com"
    assert "guestbook synced at 2026-01-01T10:00:03Z." in mail.get_payload()

    (post,) = slack_api.requests
    assert post.path == "/chat.postMessage"
    assert post.headers["Authorization"] == "Bearer xoxb-corpus-token"
    msg = json.loads(post.body)
    assert msg["channel"] == "deploys" and msg["username"] == "argocd"
    assert msg["icon_emoji"] == ":robot_face:" and msg["unfurl_links"] is False
    assert msg["text"].startswith(":white_check_mark: guestbook synced at")
    (att,) = msg["attachments"]
    assert (att["title"], att["color"]) == ("guestbook", "#2eb886")

    by_path = {r.path: r for r in webhook.requests}
    assert set(by_path) == {
        "/teams/channel",
        "/gh/repos/argoproj/argocd-example-apps/statuses/c0ffee1",
    }
    card = json.loads(by_path["/teams/channel"].body)
    assert card["title"] == "guestbook is live on a new revision"
    assert card["themeColor"] == "#2eb886" and len(card["potentialAction"]) == 2
    facts = {f["name"]: f["value"] for f in card["sections"][0]["facts"]}
    assert facts["Sync state"] == "Synced" and facts["Revision"] == "c0ffee1"
    status = by_path["/gh/repos/argoproj/argocd-example-apps/statuses/c0ffee1"]
    assert status.method == "POST" and status.headers["Authorization"] == "token ghp-corpus-token"
    assert json.loads(status.body)["state"] == "success"

    # the same state again: every one of them was once per sync, nothing twice
    assert worker.run_pass(store, secrets=SECRET).sent == 0


def _flux(name: str, file: str, **spec: Any) -> dict[str, Any]:
    (doc,) = [d for d in _docs(file) if d["metadata"]["name"] == name]
    doc["spec"].update(spec)
    return doc


def _secret(home: Path, ns: str, name: str, data: dict[str, str]) -> None:
    path = home / "secrets" / ns / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Secret",
                                    "metadata": {"name": name}, "stringData": data}))  # fmt: skip


def test_flux_documented_generic_hmac_and_lists_deliver_signed(
    store: Store, shipway_home: Path, webhook: Receiver
) -> None:
    webhook.hmac_key = "hmac-corpus-key"
    _secret(shipway_home, "flux-system", "hmac-token", {"token": "hmac-corpus-key"})
    _put(store, _flux("generic-hmac", "flux-providers.yaml", address=f"{webhook.url}/signed"))
    # the documented inclusion/exclusion Alert, its sources pointed at shipway's Applications
    alert = _flux(
        "only-successes",
        "flux-alerts.yaml",
        eventSources=[{"kind": "Application", "name": "*", "namespace": "argocd"}],
    )
    _put(store, alert)
    # a commit-status Provider with certSecretRef: accepted, each delivery refused naming it
    _put(store, _flux("github-status", "flux-providers.yaml", certSecretRef={"name": "ca"}))
    _put(store, {**_flux("no-socket-noise", "flux-alerts.yaml",
                         providerRef={"name": "github-status"},
                         eventSources=[{"kind": "Application", "name": "guestbook",
                                        "namespace": "argocd"}])})  # fmt: skip
    # alerts.md: the object's event.toolkit.fluxcd.io/ annotations, under the Alert's own
    stored = _docs("argocd-apps.yaml")[1]
    stored["metadata"]["annotations"] = {
        "event.toolkit.fluxcd.io/deploymentID": "e076e315",
        "event.toolkit.fluxcd.io/env": "dev",
    }
    _put(store, stored)
    app = ev.ObjectRef("Application", "guestbook", "argocd", "argoproj.io/v1alpha1")
    for message in ("sync succeeded at c0ffee1", "sync succeeded for the test suite",
                    "health degraded"):  # fmt: skip
        events.emit(store, app, "SyncSucceeded", message, release_id="rel-9",
                    source="reconciler")  # fmt: skip
    for _ in range(3):
        worker.run_pass(store, secrets={}, backoff=0.0, max_attempts=2)
    (got,) = webhook.requests  # signed (the receiver refuses what is not), the one included
    assert got.path == "/signed"
    body = json.loads(got.body)
    assert body["message"] == "sync succeeded at c0ffee1"
    assert body["metadata"] == {"releaseId": "rel-9", "env": "production",
                                "cluster": "my-cluster", "region": "us-east-1",
                                "deploymentID": "e076e315"}  # fmt: skip
    refused = [e for e in events.query(store, kind="Alert") if e.reason == "NotificationFailed"]
    assert refused and all("certSecretRef on a github Provider" in e.message for e in refused)
    assert refused[0].involved.name == "no-socket-noise"


def test_github_app_credentials_as_documented_set_status_and_comment(
    store: Store, tmp_path: Path
) -> None:
    """github.md's service.github (appID, installationID, privateKey): an installation token
    is minted with the App's key, then the commit status and the pull request comment."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()  # fmt: skip
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    repo = Repo.init(tmp_path / "gb")
    who = ("-c", "user.name=t", "-c", "user.email=t@x")
    repo.run(*who, "commit", "-q", "--allow-empty", "-m", "a")
    repo.run("branch", "-M", "main")
    repo.run("checkout", "-q", "-b", "feature")
    repo.run(*who, "commit", "-q", "--allow-empty", "-m", "b")
    sha = repo.run("rev-parse", "HEAD").strip()
    repo.run("tag", "v1.0.0")  # the page's deployment reference
    forge = ForgeServer()
    forge.add_repo("argoproj/argocd-example-apps", repo.path)
    forge_apps.register(forge.state, "12345", "67890", public)
    try:
        pr = open_forge("github", forge.api("github"), "argoproj/argocd-example-apps",
                        TOKEN).create("feature", "main", "feature", "")  # fmt: skip
        service = DOCS["service.github"] + f"apiURL: {forge.api('github')}\n"
        _put(
            store,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-notifications-cm", "namespace": "argocd"},
                "data": {
                    **CATALOG,
                    "service.github": service,
                    "template.app-deployed": DOCS["template.github-app-deployed"],
                },
            },
        )
        app = _docs("argocd-apps.yaml")[1]
        app["metadata"]["annotations"] = {f"{ANN}on-deployed.github": ""}
        _put(store, app)
        status = _status(sync={"revision": sha}, operationState={"syncResult": {"revision": sha}})
        resources.set_status(store, "Application", "guestbook", status, namespace="argocd")
        secrets = {**SECRET, "github-privateKey": pem}
        assert worker.run_pass(store, secrets=secrets).sent == 1
        (posted,) = [s for s in forge.state.statuses if s[2] == sha]
        assert posted[3]["state"] == "success"
        assert posted[3]["context"] == "continuous-delivery/guestbook"
        assert posted[3]["target_url"] == (
            "https://localhost:8080/applications/guestbook?operation=true"
        )
        ((kind, _, number, body),) = forge.state.comments
        assert (kind, number) == ("github", pr.number)
        assert body.startswith("Application guestbook is now running new version")
        assert "<!-- argocd-notifications continuous-delivery/guestbook -->" in body
        assert len(forge.state.app_tokens) == 1  # minted once, with the App's key
        (dep,) = forge.state.deployments
        assert (dep["sha"], dep["ref"], dep["environment"]) == (sha, "v1.0.0", "production")
        assert dep["required_contexts"] == [] and dep["auto_merge"] is True
        (dep_status,) = forge.state.deployment_statuses
        assert dep_status["state"] == "success"
        assert dep_status["environment_url"] == "https://guestbook.example.com"
        (run,) = forge.state.check_runs
        assert (run["name"], run["head_sha"]) == ("continuous-delivery/guestbook", sha)
        assert (run["status"], run["conclusion"]) == ("completed", "success")
        assert "started_at" not in run  # the page's placeholder is no time
        assert run["output"]["title"] == "Deployment of guestbook on ArgoCD"
    finally:
        forge.stop()


def test_a_forge_refusal_is_a_failed_delivery_with_its_answer(store: Store, tmp_path: Path) -> None:
    """GitHub's 422 for a commit it does not have is the service's answer, recorded on the
    Application's events (before, a 404/422 escaped the sender as an unexpected error)."""
    repo = Repo.init(tmp_path / "gb")
    repo.run("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "--allow-empty",
             "-m", "a")  # fmt: skip
    forge = ForgeServer()
    forge.add_repo("argoproj/argocd-example-apps", repo.path)
    try:
        _put(
            store,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-notifications-cm", "namespace": "argocd"},
                "data": {
                    **CATALOG,
                    "service.github": f"apiURL: {forge.api('github')}\ntoken: $t\n",
                    "template.app-deployed": DOCS["template.github-app-deployed"],
                },
            },
        )
        app = _docs("argocd-apps.yaml")[1]
        app["metadata"]["annotations"] = {f"{ANN}on-deployed.github": ""}
        _put(store, app)
        resources.set_status(store, "Application", "guestbook", _status(), namespace="argocd")
        for _ in range(3):
            worker.run_pass(store, secrets={"t": TOKEN}, backoff=0.0, max_attempts=2)
        (failed,) = [e for e in events.query(store) if e.reason == "NotificationFailed"]
        assert "No commit found for SHA: c0ffee1" in failed.message
        assert TOKEN not in failed.message
    finally:
        forge.stop()


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .sign(key, hashes.SHA256()))  # fmt: skip
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return ctx


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # TLS from byte 1
def test_the_gmail_form_speaks_smtps_on_465_with_its_login(store: Store, tmp_path: Path) -> None:
    """email.md's Gmail service (port 465, username, password): TLS from the first byte, then
    the login, to a real SMTP server on loopback port 465."""
    got: list[tuple[str, bool, Any]] = []

    class Box:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            tls = server.transport.get_extra_info("ssl_object") is not None
            got.append((envelope.mail_from, tls, message_from_bytes(envelope.content)))
            return "250 OK"

    def login(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> AuthResult:
        ok = (auth.login, auth.password) == (b"cd@example.com", b"app-password-789")
        return AuthResult(success=ok)

    ctl = Controller(
        Box(),
        hostname="127.0.0.1",
        port=465,
        ssl_context=_self_signed(tmp_path),
        authenticator=login,
        auth_require_tls=False,
        auth_required=True,
    )
    ctl.start()
    try:
        gmail = DOCS["service.email.gmail"].replace("smtp.gmail.example", "127.0.0.1")
        _put(
            store,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-notifications-cm", "namespace": "argocd"},
                "data": {**CATALOG, "service.email.gmail": gmail + "insecure_skip_verify: true\n"},
            },
        )
        app = _docs("argocd-apps.yaml")[1]
        app["metadata"]["annotations"] = {f"{ANN}on-sync-succeeded.gmail": "ops@example.com"}
        _put(store, app)
        resources.set_status(store, "Application", "guestbook", _status(), namespace="argocd")
        assert worker.run_pass(store, secrets=SECRET).sent == 1
    finally:
        ctl.stop()
    ((sender, over_tls, mail),) = got
    assert (sender, over_tls) == ("cd@example.com", True)
    assert mail["Subject"] == "guestbook synced"


def _issue(ca: tuple[Any, Any] | None, cn: str, *, server: bool = False) -> tuple[Any, Any]:
    """A key and certificate for ``cn``, signed by ``ca`` (self-signed, a CA, when None)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    b = (x509.CertificateBuilder().subject_name(name)
         .issuer_name(ca[1].subject if ca else name).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(minutes=5))
         .not_valid_after(now + dt.timedelta(hours=1)))  # fmt: skip
    b = b.add_extension(x509.BasicConstraints(ca=ca is None, path_length=None), critical=True)
    if server:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        b = b.add_extension(san, critical=False)
    return key, b.sign(ca[0] if ca else key, hashes.SHA256())


def _pem(cert: Any) -> str:
    return str(cert.public_bytes(serialization.Encoding.PEM).decode())


def _key_pem(key: Any) -> str:
    return str(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode())  # fmt: skip


def test_flux_documented_private_ca_and_mtls_providers_over_real_tls(
    store: Store, shipway_home: Path, tmp_path: Path
) -> None:
    """providers.md's certSecretRef: ``ca.crt`` verifies a server the system does not trust,
    ``tls.crt``/``tls.key`` present the client certificate; without it the same server is
    refused by certificate verification, recorded as the Provider's failure."""
    ca = _issue(None, "corpus CA")
    server_key, server_cert = _issue(ca, "127.0.0.1", server=True)
    client_key, client_cert = _issue(ca, "flux-notifications")
    (tmp_path / "server.pem").write_text(_pem(server_cert) + _key_pem(server_key))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cadata=_pem(ca[1]))
    ctx.load_cert_chain(tmp_path / "server.pem")
    ctx.verify_mode = ssl.CERT_OPTIONAL  # a client certificate is checked when one is shown
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            peer = self.connection.getpeercert()  # type: ignore[attr-defined]
            cn = dict(x[0] for x in peer["subject"])["commonName"] if peer else ""
            seen.append((self.path, cn))
            assert json.loads(body)["message"] == "sync succeeded at c0ffee1"
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    url = f"https://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        _secret(shipway_home, "flux-system", "hooks-ca", {"ca.crt": _pem(ca[1])})
        _secret(shipway_home, "flux-system", "hooks-mtls-certs",
                {"ca.crt": _pem(ca[1]), "tls.crt": _pem(client_cert),
                 "tls.key": _key_pem(client_key)})  # fmt: skip
        for provider, path in (("generic-private-ca", "/ca"), ("generic-mtls", "/mtls"),
                               ("generic", "/system-trust")):  # fmt: skip
            _put(store, _flux(provider, "flux-providers.yaml", address=url + path))
            _put(
                store,
                _flux(
                    "no-socket-noise",
                    "flux-alerts.yaml",
                    providerRef={"name": provider},
                    eventSources=[
                        {"kind": "Application", "name": "guestbook", "namespace": "argocd"}
                    ],
                )
                | {"metadata": {"name": f"to-{provider}", "namespace": "flux-system"}},
            )
        app = ev.ObjectRef("Application", "guestbook", "argocd", "argoproj.io/v1alpha1")
        events.emit(store, app, "SyncSucceeded", "sync succeeded at c0ffee1",
                    source="reconciler")  # fmt: skip
        for _ in range(3):
            worker.run_pass(store, secrets={}, backoff=0.0, max_attempts=2)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert sorted(seen) == [("/ca", ""), ("/mtls", "flux-notifications")]
    (refused,) = [e for e in events.query(store, kind="Alert") if e.reason == "NotificationFailed"]
    assert refused.involved.name == "to-generic" and "CERTIFICATE_VERIFY_FAILED" in refused.message


def test_the_documented_webhook_form_with_insecure_skip_verify(
    store: Store, tmp_path: Path
) -> None:
    """webhook.md's every-option form (headers, basicAuth, insecureSkipVerify: true) to a
    self-signed HTTPS server: delivered with its headers; the same without the option is
    refused by certificate verification."""
    key, cert = _issue(None, "127.0.0.1", server=True)
    (tmp_path / "self.pem").write_text(_pem(cert) + _key_pem(key))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "self.pem")
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({**dict(self.headers), "path": self.path})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    url = f"https://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        generic = DOCS["service.webhook.generic"].replace("https://hooks.example.net", url)
        strict = generic.replace("insecureSkipVerify: true", "insecureSkipVerify: false")
        _put(store, {"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "argocd-notifications-cm", "namespace": "argocd"},
                     "data": {**CATALOG, "service.webhook.generic": generic,
                              "service.webhook.strict": strict}})  # fmt: skip
        app = _docs("argocd-apps.yaml")[1]
        app["metadata"]["annotations"] = {f"{ANN}on-sync-succeeded.generic": "",
                                          f"{ANN}on-sync-succeeded.strict": ""}  # fmt: skip
        _put(store, app)
        resources.set_status(store, "Application", "guestbook", _status(), namespace="argocd")
        for _ in range(3):
            worker.run_pass(store, secrets=SECRET, backoff=0.0, max_attempts=2)
    finally:
        httpd.shutdown()
        httpd.server_close()
    (got,) = seen  # the catalog template has no webhook part: Argo CD's default, a GET
    assert got["path"] == "/argocd" and got["X-Origin"] == "argocd"
    assert got["Authorization"] == "Basic " + base64.b64encode(b"cd-bot:generic-pass-123").decode()
    (refused,) = [e for e in events.query(store) if e.reason == "NotificationFailed"]
    assert "strict" in refused.message and "CERTIFICATE_VERIFY_FAILED" in refused.message
    assert "generic-pass-123" not in refused.message


def test_flux_documented_proxy_secret_ref_sends_through_the_proxy(
    store: Store, shipway_home: Path, webhook: Receiver
) -> None:
    """providers.md's proxySecretRef (address, username, password): the event goes through a
    real forward proxy on loopback that demands those credentials; wrong ones are its 407."""
    seen: list[tuple[str, str]] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            auth = self.headers.get("Proxy-Authorization", "")
            seen.append((self.path, auth))
            if auth != "Basic " + base64.b64encode(b"proxy-user:p@ss word").decode():
                self.send_response(407)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            fwd = {k: v for k, v in self.headers.items() if not k.lower().startswith("proxy-")}
            req = urllib.request.Request(self.path, data=body, method="POST", headers=fwd)
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req) as r:
                status, answer = r.status, r.read()
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    address = f"http://127.0.0.1:{proxy.server_address[1]}"
    try:
        for name, password in (("generic-proxy", "p@ss word"), ("wrong-proxy", "nope")):
            _secret(shipway_home, "flux-system", name, {"address": address,
                                                       "username": "proxy-user",
                                                       "password": password})  # fmt: skip
        _put(store, _flux("generic-proxied", "flux-providers.yaml",
                          address=f"{webhook.url}/via-proxy"))  # fmt: skip
        wrong = _flux("generic-proxied", "flux-providers.yaml", address=f"{webhook.url}/no",
                      proxySecretRef={"name": "wrong-proxy"})  # fmt: skip
        wrong["metadata"] = {"name": "wrongly-proxied", "namespace": "flux-system"}
        _put(store, wrong)
        for provider in ("generic-proxied", "wrongly-proxied"):
            alert = _flux("no-socket-noise", "flux-alerts.yaml", providerRef={"name": provider},
                          eventSources=[{"kind": "Application", "name": "*",
                                         "namespace": "argocd"}])  # fmt: skip
            alert["metadata"] = {"name": f"to-{provider}", "namespace": "flux-system"}
            _put(store, alert)
        app = ev.ObjectRef("Application", "guestbook", "argocd", "argoproj.io/v1alpha1")
        events.emit(store, app, "SyncSucceeded", "synced", source="reconciler")
        for _ in range(3):
            worker.run_pass(store, secrets={}, backoff=0.0, max_attempts=2)
    finally:
        proxy.shutdown()
        proxy.server_close()
    (got,) = webhook.requests
    assert got.path == "/via-proxy" and json.loads(got.body)["message"] == "synced"
    assert {path for path, _ in seen} == {f"{webhook.url}/via-proxy", f"{webhook.url}/no"}
    (refused,) = [e for e in events.query(store, kind="Alert") if e.reason == "NotificationFailed"]
    assert refused.involved.name == "to-wrongly-proxied" and "407" in refused.message
    assert "nope" not in refused.message


def test_flux_documented_pull_request_comment_provider_keeps_one_comment(
    store: Store, shipway_home: Path, tmp_path: Path
) -> None:
    """providers.md's githubpullrequestcomment: the object's change_request annotation names
    the pull request; one comment per object, edited for each event, in Flux's format; an
    object without the annotation is left out."""
    repo = Repo.init(tmp_path / "apps")
    who = ("-c", "user.name=t", "-c", "user.email=t@x")
    repo.run(*who, "commit", "-q", "--allow-empty", "-m", "a")
    repo.run("branch", "-M", "main")
    repo.run("checkout", "-q", "-b", "feature")
    repo.run(*who, "commit", "-q", "--allow-empty", "-m", "b")
    forge = ForgeServer()
    forge.add_repo("acme-org/apps", repo.path)
    try:
        pr = open_forge("github", forge.api("github"), "acme-org/apps", TOKEN).create(
            "feature", "main", "feature", "")  # fmt: skip
        _secret(shipway_home, "flux-system", "github-token", {"token": TOKEN})
        provider = _flux("github-pr-comment", "flux-providers.yaml")
        provider["metadata"]["annotations"] = {"shipway.dev/api-url": forge.api("github")}
        _put(store, provider)
        _put(store, _flux("no-socket-noise", "flux-alerts.yaml",
                          providerRef={"name": "github-pr-comment"},
                          eventSources=[{"kind": "Application", "name": "*",
                                         "namespace": "argocd"}]))  # fmt: skip
        for name, ann in (("guestbook", {"event.toolkit.fluxcd.io/change_request": str(
                pr.number)}), ("other", {})):  # fmt: skip
            app = _docs("argocd-apps.yaml")[1]
            app["metadata"] = {**app["metadata"], "name": name, "annotations": ann}
            _put(store, app)
        guestbook = ev.ObjectRef("Application", "guestbook", "argocd", "argoproj.io/v1alpha1")
        other = ev.ObjectRef("Application", "other", "argocd", "argoproj.io/v1alpha1")
        events.emit(store, guestbook, "SyncSucceeded", "synced c0ffee1", source="reconciler")
        events.emit(store, other, "SyncSucceeded", "synced elsewhere", source="reconciler")
        worker.run_pass(store, secrets={})
        events.emit(store, guestbook, "SyncFailed", "sync failed: ImagePullBackOff",
                    type=ev.WARNING, source="reconciler")  # fmt: skip
        worker.run_pass(store, secrets={})
        ((kind, project, number, body),) = forge.state.comments
        assert (kind, project, number) == ("github", "acme-org/apps", pr.number)
        assert forge.state.edits == 1  # the second event edited the first one's comment
        assert body.startswith("## Flux Status\n\n⚠️ Application/argocd/guestbook\n\n"
                               "sync failed: ImagePullBackOff")  # fmt: skip
        assert "<!-- flux-status flux-system/github-pr-comment" in body
    finally:
        forge.stop()


def test_flux_github_providers_with_a_github_app_secret(
    store: Store, shipway_home: Path, tmp_path: Path
) -> None:
    """providers.md's github and githubpullrequestcomment Providers with the GitHub App Secret
    Flux documents (githubAppID, githubAppInstallationID, githubAppPrivateKey and, for GitHub
    Enterprise, githubAppBaseURL): an installation token is minted with the App's key and
    sets the commit status and the comment; the key never shows in a failure."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()  # fmt: skip
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    repo = Repo.init(tmp_path / "apps")
    who = ("-c", "user.name=t", "-c", "user.email=t@x")
    repo.run(*who, "commit", "-q", "--allow-empty", "-m", "a")
    repo.run("branch", "-M", "main")
    repo.run("checkout", "-q", "-b", "feature")
    repo.run(*who, "commit", "-q", "--allow-empty", "-m", "b")
    sha = repo.run("rev-parse", "HEAD").strip()
    forge = ForgeServer()
    forge.add_repo("acme-org/apps", repo.path)
    forge.add_repo("acme-org/fleet-infra", repo.path)
    forge_apps.register(forge.state, "2001", "3001", public)
    try:
        pr = open_forge("github", forge.api("github"), "acme-org/apps", TOKEN).create(
            "feature", "main", "feature", "")  # fmt: skip
        app_secret = {
            "githubAppID": "2001",
            "githubAppInstallationID": "3001",
            "githubAppPrivateKey": pem,
            "githubAppBaseURL": forge.api("github"),
        }
        _secret(shipway_home, "flux-system", "github-token", app_secret)
        for name in ("github-status", "github-pr-comment"):
            provider = _flux(name, "flux-providers.yaml")
            provider["metadata"]["annotations"] = {"shipway.dev/api-url": forge.api("github")}
            _put(store, provider)
            _put(store, _flux("no-socket-noise", "flux-alerts.yaml", providerRef={"name": name},
                              eventSources=[{"kind": "Application", "name": "*",
                                             "namespace": "argocd"}]) | {
                "metadata": {"name": f"to-{name}", "namespace": "flux-system"}})  # fmt: skip
        app = _docs("argocd-apps.yaml")[1]
        app["metadata"]["annotations"] = {"event.toolkit.fluxcd.io/change_request": str(pr.number)}
        _put(store, app)
        resources.set_status(store, "Application", "guestbook", {"sync": {"revision": sha}},
                             namespace="argocd")  # fmt: skip
        guestbook = ev.ObjectRef("Application", "guestbook", "argocd", "argoproj.io/v1alpha1")
        events.emit(store, guestbook, "SyncSucceeded", "synced b", source="reconciler")
        worker.run_pass(store, secrets={})
        (status,) = [s for s in forge.state.statuses if s[2] == sha]
        assert (status[0], status[1], status[3]["state"]) == ("github", "acme-org/fleet-infra",
                                                               "success")  # fmt: skip
        ((kind, project, number, body),) = forge.state.comments
        assert (kind, project, number) == ("github", "acme-org/apps", pr.number)
        assert body.startswith("## Flux Status") and "synced b" in body
        assert len(forge.state.app_tokens) == 1  # one token for both Providers, kept

        # an App Secret Flux documents but shipway cannot use yet is refused, naming the key
        del app_secret["githubAppInstallationID"]
        _secret(shipway_home, "flux-system", "github-token",
                {**app_secret, "githubAppInstallationOwner": "acme-org"})  # fmt: skip
        events.emit(store, guestbook, "SyncFailed", "sync failed", type=ev.WARNING,
                    source="reconciler")  # fmt: skip
        for _ in range(3):
            worker.run_pass(store, secrets={}, backoff=0.0, max_attempts=2)
        failed = [e for e in events.query(store, kind="Alert") if e.reason == "NotificationFailed"]
        assert len(failed) == 2, [e.message for e in failed]
        for e in failed:
            assert "githubAppInstallationOwner is not supported by shipway yet" in e.message
            assert "PRIVATE KEY" not in e.message
    finally:
        forge.stop()


def test_flux_documented_commit_status_expr_names_the_status(
    store: Store, shipway_home: Path, tmp_path: Path
) -> None:
    """providers.md's commitStatusExpr, as written there (strings, lists and optionals of
    Flux's CEL): the commit status's context is what it makes of event, provider, alert."""
    repo = Repo.init(tmp_path / "fleet")
    repo.run("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "--allow-empty",
             "-m", "a")  # fmt: skip
    sha = repo.run("rev-parse", "HEAD").strip()
    forge = ForgeServer()
    forge.add_repo("acme-org/fleet-infra", repo.path)
    try:
        _secret(shipway_home, "flux-system", "github-token", {"token": TOKEN})
        provider = _flux("github-status-expr", "flux-providers.yaml")
        provider["metadata"]["annotations"] = {"shipway.dev/api-url": forge.api("github")}
        _put(store, provider)
        _put(store, _flux("no-socket-noise", "flux-alerts.yaml",
                          providerRef={"name": "github-status-expr"}, eventMetadata={"foo": "Bar"},
                          eventSources=[{"kind": "Application", "name": "*",
                                         "namespace": "argocd"}]))  # fmt: skip
        _put(store, _docs("argocd-apps.yaml")[1])
        resources.set_status(store, "Application", "guestbook",
                             _status(sync={"revision": sha},
                                     operationState={"syncResult": {"revision": sha}}),
                             namespace="argocd")  # fmt: skip
        app = ev.ObjectRef("Application", "guestbook", "argocd", "argoproj.io/v1alpha1")
        events.emit(store, app, "SyncSucceeded", "synced", source="reconciler")
        assert worker.run_pass(store, secrets={}).sent == 1
        ((_, _, got_sha, body),) = forge.state.statuses
        uid = worker_flux.provider_uid("flux-system/github-status-expr")
        assert got_sha == sha and body["state"] == "success"
        assert body["context"] == f"application/guestbook/bar/{uid[:8]}"
    finally:
        forge.stop()


def test_teams_workflows_as_documented_post_adaptive_cards(store: Store, webhook: Receiver) -> None:
    """teams-workflows.md: the template fields become an Adaptive Card (title coloured, text,
    facts and the sections' facts, OpenUri as Action.OpenUrl) in Teams' message envelope;
    ``adaptiveCard`` is sent as written; a workflow answers 202."""
    webhook.status = 202
    service = DOCS["service.teams-workflows"]
    _put(
        store,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-notifications-cm", "namespace": "argocd"},
            "data": {
                **CATALOG,
                "service.teams-workflows": service,
                "template.app-sync-succeeded": DOCS["template.teams-workflows-fields"],
                "template.app-deployed": DOCS["template.teams-workflows-card"],
            },
        },
    )
    app = _docs("argocd-apps.yaml")[1]
    app["metadata"]["annotations"] = {
        f"{ANN}on-sync-succeeded.teams-workflows": "channelName",
        f"{ANN}on-deployed.teams-workflows": "channelName",
    }
    _put(store, app)
    resources.set_status(store, "Application", "guestbook", _status(), namespace="argocd")
    secrets = {**SECRET, "channel-workflows-url": f"{webhook.url}/workflow"}
    assert worker.run_pass(store, secrets=secrets).sent == 2
    cards = {}
    for got in webhook.requests:
        assert got.path == "/workflow"
        msg = json.loads(got.body)
        (att,) = msg["attachments"]
        assert msg["type"] == "message"
        assert att["contentType"] == "application/vnd.microsoft.card.adaptive"
        cards[att["content"]["body"][0]["text"]] = att["content"]
    fields = cards["Application guestbook has been successfully synced"]
    title, text, facts, section = fields["body"]
    assert (title["size"], title["weight"], title["color"]) == ("Large", "Bolder", "Good")
    assert text["text"].endswith("synced at 2026-01-01T10:00:03Z.")
    assert facts["facts"][0] == {"title": "Sync Status", "value": "Synced"}
    assert section["facts"][1] == {"title": "Cluster", "value": "https://kubernetes.default.svc"}
    assert fields["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "View in Argo CD",
            "url": "https://localhost:8080/applications/guestbook",
        }
    ]
    whole = cards["guestbook synced"]
    assert whole["actions"][0]["url"] == "https://localhost:8080/applications/guestbook"


def test_the_shipped_catalog_on_a_real_sync(
    shipway_home: Path, webhook: Receiver, git_server: Any, tmp_path: Path
) -> None:
    """The catalog unchanged, a real reconcile (git daemon, memory cluster): on-created,
    on-sync-succeeded and on-deployed fire once each, their templates' messages as shipped;
    a second reconcile of the same commit sends nothing."""
    cluster.register("mem", MemoryTarget("mem"))
    try:
        store = open_store(Settings(home=shipway_home))
        url = git_server.bare("corpus-real-sync")
        work = Repo.clone(url, tmp_path / "work")
        (Path(work.path) / "web").mkdir()
        (Path(work.path) / "web" / "cm.yaml").write_text(yaml.safe_dump(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"},
             "data": {"k": "v"}}))  # fmt: skip
        work.add_all()
        sha = work.commit("web")
        work.push("origin", "HEAD:refs/heads/main")
        _put(
            store,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-notifications-cm", "namespace": "argocd"},
                "data": {**CATALOG, "service.webhook.hook": f"url: {webhook.url}\n"},
            },
        )
        app = _docs("argocd-apps.yaml")[1]
        app["metadata"]["annotations"] = {
            f"{ANN}{t}.hook": ""
            for t in ("on-created", "on-sync-succeeded", "on-deployed", "on-sync-failed")
        }
        app["spec"]["source"] = {"repoURL": url, "path": "web", "targetRevision": "main"}
        app["spec"]["destination"] = {"name": "mem", "namespace": "web"}
        _put(store, app)
        settings = Settings(home=shipway_home)
        engine.reconcile(store, "argocd_guestbook", settings=settings)
        stored = resources.find(store, "Application", "guestbook", "argocd")
        assert stored is not None and stored.status["sync"]["revision"] == sha
        assert worker.run_pass(store, secrets={}).sent == 3
        sent = outbox.list_outbox(store, app_name="guestbook")
        assert sorted(d.trigger for d in sent) == ["on-created", "on-deployed",
                                                   "on-sync-succeeded"]  # fmt: skip
        deployed = next(d for d in sent if d.trigger == "on-deployed")
        assert deployed.payload["message"].strip() == (
            f"guestbook is live on revision {sha}, synced and healthy."
        )
        # the catalog's templates carry no webhook part: Argo CD's default, a GET, each
        assert sorted(r.method for r in webhook.requests) == ["GET", "GET", "GET"]
        engine.reconcile(store, "argocd_guestbook", settings=settings)
        assert worker.run_pass(store, secrets={}).sent == 0
    finally:
        cluster.register("mem", None)


def test_flux_documented_discord_and_rocket_providers(
    store: Store, shipway_home: Path, webhook: Receiver
) -> None:
    """providers.md's discord (the Secret's address, Slack-compatible at ``/slack``) and
    rocket (Slack's payload to the address) Providers."""
    _secret(shipway_home, "flux-system", "discord-webhook",
            {"address": f"{webhook.url}/api/webhooks/123/abc"})  # fmt: skip
    _put(store, _flux("discord", "flux-providers.yaml"))
    rocket = {"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
              "metadata": {"name": "rocket", "namespace": "flux-system"},
              "spec": {"type": "rocket", "address": f"{webhook.url}/hooks/xyz",
                       "channel": "deploys"}}  # fmt: skip
    _put(store, rocket)
    for provider in ("discord", "rocket"):
        alert = _flux("no-socket-noise", "flux-alerts.yaml", providerRef={"name": provider},
                      eventSources=[{"kind": "Application", "name": "*",
                                     "namespace": "argocd"}])  # fmt: skip
        alert["metadata"] = {"name": f"to-{provider}", "namespace": "flux-system"}
        _put(store, alert)
    app = ev.ObjectRef("Application", "guestbook", "argocd", "argoproj.io/v1alpha1")
    events.emit(store, app, "SyncFailed", "sync failed: boom", type=ev.WARNING,
                source="reconciler")  # fmt: skip
    assert worker.run_pass(store, secrets={}).sent == 2
    by_path = {r.path: json.loads(r.body) for r in webhook.requests}
    assert set(by_path) == {"/api/webhooks/123/abc/slack", "/hooks/xyz"}
    discord = by_path["/api/webhooks/123/abc/slack"]
    assert discord["username"] == "shipway-reconciler" and "channel" not in discord
    (att,) = discord["attachments"]
    assert (att["color"], att["author_name"]) == ("danger", "Application/guestbook.argocd")
    assert by_path["/hooks/xyz"]["channel"] == "deploys"
