"""Credentials in a base URL (``http://user:pass@host``, ``?api_key=...``) never reach a runtime label, a
stored request or an error message; the providers still call the URL as given."""

from __future__ import annotations

import json
import socket

import pytest

from tale_core.errors import ProviderError
from tale_core.providers.anthropic_api import AnthropicModel
from tale_core.providers.openai_compat import OpenAIModel
from tale_core.redact import public_host, public_url, redact_urls, url_secrets
from tale_core.types import GenParams, Message
from tests.fakeservers import FakeOpenAI, isolate_sdk_env

PASSWORD = "hunter2-url-password-77"
QUERY_KEY = "query-string-key-5566778899"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_helpers_strip_user_info_and_query_secrets():
    url = f"http://alice:{PASSWORD}@127.0.0.1:8080/v1?api_key={QUERY_KEY}&x=1"
    assert public_url(url) == "http://127.0.0.1:8080/v1"
    assert public_host(url) == "127.0.0.1:8080"
    text = redact_urls(f"failed at {url} and https://h/p?access_token={QUERY_KEY}")
    assert PASSWORD not in text and QUERY_KEY not in text and "alice" not in text
    assert "x=1" in text  # harmless query values stay readable
    assert set(url_secrets(url)) >= {PASSWORD, QUERY_KEY}


def test_openai_runtime_and_record_hold_no_url_credentials(monkeypatch):
    isolate_sdk_env(monkeypatch)
    with FakeOpenAI() as fake:
        fake.default = fake.chat("4")
        base = f"http://alice:{PASSWORD}@127.0.0.1:{fake.port}/v1"
        model = OpenAIModel("m1", api_key="", base_url=base, provider="compat:lab")
        comp = model.complete([Message("user", "2+2?")], GenParams(max_tokens=8))
        port = fake.port
    blob = json.dumps(comp.to_dict()) + model.runtime() + model.host
    assert PASSWORD not in blob and "alice" not in blob
    assert f"127.0.0.1:{port}" in model.runtime()


@pytest.mark.parametrize("cls", [OpenAIModel, AnthropicModel])
def test_connection_error_message_holds_no_url_credentials(monkeypatch, cls):
    isolate_sdk_env(monkeypatch)
    base = f"http://alice:{PASSWORD}@127.0.0.1:{_closed_port()}/v1?api_key={QUERY_KEY}"
    kw = {"provider": "compat:lab"} if cls is OpenAIModel else {}
    model = cls("m1", api_key="k" * 20, base_url=base, timeout_s=5, max_retries=0, **kw)
    with pytest.raises(ProviderError) as info:
        model.complete([Message("user", "2+2?")], GenParams(max_tokens=8))
    text = str(info.value) + json.dumps(info.value.to_dict())
    assert "Cannot connect" in text
    assert PASSWORD not in text and QUERY_KEY not in text and "alice" not in text
