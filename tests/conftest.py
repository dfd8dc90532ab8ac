"""Suite-wide guards: every test runs offline, with no real API keys and its own data folder."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

# fixtures shared by many test files (app env, databases, the throwaway PostgreSQL server)
pytest_plugins = ["tests.helpers_app", "tests.helpers_db", "tests.helpers_methods", "tests.helpers_postgres"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address) -> bool:
    if not isinstance(address, tuple):  # unix sockets
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a hostname other than localhost would need DNS: not allowed in tests


def _guarded_connect(self, address):
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may only connect to loopback, not {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may only connect to loopback, not {address!r}")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def _loopback_only():
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    yield
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """No real keys or endpoints leak in from the developer's shell; data goes to a temp folder."""
    for var in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "TALE_ENDPOINTS",
        "TALE_ENDPOINTS_FILE",
        "TALE_DATABASE_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    # installed local models (the optional Qwen file) stay where `make install-qwen` put them
    monkeypatch.setenv("TALE_MODELS_DIR", os.environ.get("TALE_MODELS_DIR", str(REPO_ROOT / "data" / "models")))
    monkeypatch.setenv("TALE_DATA_DIR", str(tmp_path / "tale-data"))
    # loopback calls must never be routed through a proxy from the environment
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def gsm8k_path() -> Path:
    p = SHARED_DATA / "gsm8k_test.jsonl"
    if not p.is_file():
        pytest.skip("../shared/data/gsm8k_test.jsonl is not beside the repository")
    return p
