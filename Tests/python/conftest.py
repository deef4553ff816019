"""Shared fixtures: the built binaries, a throwaway TLS certificate, a config writer."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def binary(name: str) -> str:
    """The built product: $GSENDMAIL_BIN_DIR, else the debug build."""
    directory = os.environ.get("GSENDMAIL_BIN_DIR", str(ROOT / ".build" / "debug"))
    path = os.path.join(directory, name)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built; run swift build first")
    return path


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost: (cert, key)."""
    d = tmp_path_factory.mktemp("pki")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    return str(cert), str(key)


def write_private(path: pathlib.Path, text: str) -> str:
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def run_gsendmail(args, message: bytes, env_extra=None, timeout=30):
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C"}
    env.update(env_extra or {})
    return subprocess.run([binary("gsendmail"), *args], input=message, capture_output=True, env=env, timeout=timeout)
