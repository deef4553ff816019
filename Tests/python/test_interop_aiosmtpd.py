"""gsendmail against aiosmtpd, an SMTP server nobody here wrote: STARTTLS, AUTH PLAIN
and LOGIN, and an XOAUTH2 handler. The tests start the server themselves on 127.0.0.1."""
import base64
import socket
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from conftest import run_gsendmail, write_private

USER, PASSWORD, TOKEN = "alice@example.com", "app-password-5678", "ya29.interop-token"


class Recorder:
    """Keeps every message aiosmtpd accepts, and offers XOAUTH2."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({
            "from": envelope.mail_from, "to": list(envelope.rcpt_tos), "data": envelope.original_content,
            "tls": session.ssl is not None, "auth": session.auth_data,
            "tls_version": session.ssl.get("ssl_object").version() if session.ssl else None,
            "cipher": session.ssl.get("ssl_object").cipher()[0] if session.ssl else None,
            "options": list(envelope.mail_options),
        })
        return "250 OK"

    async def auth_XOAUTH2(self, server, args):
        if len(args) < 2:
            return AuthResult(success=False, handled=False)
        fields = base64.b64decode(args[1]).split(b"\x01")
        ok = fields[0] == b"user=" + USER.encode() and fields[1] == b"auth=Bearer " + TOKEN.encode()
        return AuthResult(success=ok, handled=False, auth_data="xoauth2:" + fields[0].decode()[5:])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER \
        and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False, auth_data=f"{mechanism}:{USER}" if ok else None)


@pytest.fixture()
def server(certificate):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    recorder = Recorder()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
        authenticator=authenticator, auth_require_tls=True, auth_required=True)
    controller.start()
    yield controller, recorder
    controller.stop()


def config(tmp_path, controller, certificate, auth, mechanism=None):
    lines = [
        "queue = false", 'timeout = "10s"', "[account.a]", f'from = "{USER}"', 'route = "custom"',
        'host = "127.0.0.1"', f"port = {controller.port}",
        f'tls_ca_file = "{certificate[0]}"', f'auth = "{auth}"', 'helo = "client.example.org"',
    ]
    if auth == "password":
        lines.append(f'password_file = "{write_private(tmp_path / "pw", PASSWORD + chr(10))}"')
    if auth == "oauth":
        lines.append('client_id = "interop"')
    return write_private(tmp_path / "config.toml", "\n".join(lines) + "\n")


def store_token(tmp_path):
    tokens = tmp_path / "state" / "gsendmail" / "tokens"
    tokens.mkdir(parents=True, mode=0o700)
    write_private(tokens / "a.json", '{"access_token": "%s", "expires_at": 4102444800}' % TOKEN)
    return {"XDG_STATE_HOME": str(tmp_path / "state")}


MESSAGE = b"From: Alice <alice@example.com>\nTo: bob@example.org\nBcc: hidden@example.org\nSubject: interop\n\nHello.\n.leading dot\n"


def test_starttls_and_auth_plain(tmp_path, server, certificate):
    controller, recorder = server
    r = run_gsendmail(["-C", config(tmp_path, controller, certificate, "password"), "-t", "-i"], MESSAGE)
    assert r.returncode == 0, r.stderr
    [m] = recorder.messages
    assert m["tls"] and m["auth"] == f"PLAIN:{USER}"
    assert m["from"] == USER and m["to"] == ["bob@example.org", "hidden@example.org"]
    assert b"Bcc" not in m["data"] and b"\r\n.leading dot\r\n" in m["data"]


@pytest.mark.parametrize("cipher", ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA256",
                                    "ECDHE-RSA-CHACHA20-POLY1305"])
def test_tls_1_2_server(tmp_path, certificate, cipher):
    """A server that stops at TLS 1.2 (as older relays do), with AEAD suites and a CBC one."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(cipher)
    recorder = Recorder()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
        authenticator=authenticator, auth_require_tls=True, auth_required=True)
    controller.start()
    try:
        r = run_gsendmail(["-C", config(tmp_path, controller, certificate, "password"), "bob@example.org"], MESSAGE)
        assert r.returncode == 0, r.stderr
        [m] = recorder.messages
        assert m["tls_version"] == "TLSv1.2" and m["cipher"] == cipher
    finally:
        controller.stop()


def test_auth_login_when_plain_is_not_offered(tmp_path, certificate):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    recorder = Recorder()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
        authenticator=authenticator, auth_require_tls=True, auth_required=True, auth_exclude_mechanism=["PLAIN"])
    controller.start()
    try:
        r = run_gsendmail(["-C", config(tmp_path, controller, certificate, "password"), "bob@example.org"], MESSAGE)
        assert r.returncode == 0, r.stderr
        assert recorder.messages[0]["auth"] == f"LOGIN:{USER}"
    finally:
        controller.stop()


def test_xoauth2_with_a_cached_token(tmp_path, server, certificate):
    controller, recorder = server
    env = store_token(tmp_path)
    r = run_gsendmail(["-C", config(tmp_path, controller, certificate, "oauth"), "-v", "bob@example.org"], MESSAGE, env)
    assert r.returncode == 0, r.stderr
    assert recorder.messages[0]["auth"] == f"xoauth2:{USER}"
    assert TOKEN.encode() not in r.stderr and b"<redacted>" in r.stderr


def test_wrong_password_is_an_authentication_failure(tmp_path, server, certificate):
    controller, recorder = server
    path = config(tmp_path, controller, certificate, "password")
    write_private(tmp_path / "pw", "wrong\n")
    r = run_gsendmail(["-C", path, "bob@example.org"], MESSAGE)
    assert r.returncode == 77, r.stderr
    assert recorder.messages == []
    assert b"wrong" not in r.stderr


def test_untrusted_certificate_sends_nothing(tmp_path, server, certificate, tmp_path_factory):
    controller, recorder = server
    other = tmp_path_factory.mktemp("other") / "ca.pem"
    import subprocess
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(other) + ".key",
                    "-out", str(other), "-days", "2", "-subj", "/CN=other"], check=True, capture_output=True)
    path = config(tmp_path, controller, (str(other), None), "password")
    r = run_gsendmail(["-C", path, "bob@example.org"], MESSAGE)
    assert r.returncode == 75, r.stderr
    assert b"certificate" in r.stderr
    assert recorder.messages == []


def test_8bit_body_gets_body_8bitmime(tmp_path, server, certificate):
    controller, recorder = server
    r = run_gsendmail(["-C", config(tmp_path, controller, certificate, "password"), "bob@example.org"],
                      "Subject: x\n\nGrüße\n".encode())
    assert r.returncode == 0, r.stderr
    assert "BODY=8BITMIME" in recorder.messages[0]["options"]
