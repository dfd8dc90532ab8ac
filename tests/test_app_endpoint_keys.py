"""The sidebar's custom-endpoint form cannot send a server variable anywhere.

Keys for an endpoint added in the sidebar come only from what the visitor types (session memory only);
a server variable is used only when the host's own endpoint configuration names it. Each test makes a
real call through the OpenAI SDK to a loopback server and looks at the Authorization header it received.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tale_core.providers import resolve
from tale_core.types import GenParams, Message
from tests.fakeservers import FakeOpenAI, isolate_sdk_env
from tests.helpers_app import APP, button, errors, new_app, no_exception
from ui import sidebar

SERVER_SECRET = "server-only-secret-0123456789ABCDEF"
TYPED_KEY = "visitor-typed-key-ZYX987654321"


def _settings(at):
    state = at.session_state[sidebar.STATE_KEY]
    return state.settings


def _call(settings, spec: str) -> None:
    model = resolve(spec, settings)
    model.complete([Message("user", "2+2?")], GenParams(max_tokens=8))


def _add_endpoint(at, name: str, url: str, key: str = "") -> None:
    by_label = {t.label: t for t in at.sidebar.text_input}
    by_label["Name"].input(name)
    by_label["Base URL"].input(url)
    by_label["Model names (comma separated)"].input("m1")
    if key:
        by_label["API key (optional, this session only)"].input(key)
    button(at, "Add endpoint").click().run()
    no_exception(at)


def test_form_has_no_way_to_name_a_server_variable(fake_env, monkeypatch):
    isolate_sdk_env(monkeypatch)
    monkeypatch.setenv("SERVER_ONLY_VAR", SERVER_SECRET)
    at = new_app()
    labels = [t.label for t in at.sidebar.text_input]
    assert not [lab for lab in labels if "variable" in lab.lower() or "environment" in lab.lower()], labels
    with FakeOpenAI() as fake:
        fake.default = fake.chat("4")
        _add_endpoint(at, "mine", fake.base_url)
        # a session crafted to name a server variable (the old form's field) is ignored too
        at.session_state[sidebar.ENDPOINTS_KEY]["crafted"] = {
            "name": "crafted",
            "base_url": fake.base_url,
            "models": ["m1"],
            "api_key_env": "SERVER_ONLY_VAR",
        }
        at.run()
        no_exception(at)
        settings = _settings(at)
        assert settings.endpoints["crafted"].api_key_env is None
        _call(settings, "compat:mine/m1")
        _call(settings, "compat:crafted/m1")
        assert fake.count == 2
        for req in fake.requests:
            assert SERVER_SECRET not in str(req.headers), req.headers


def test_a_typed_key_is_sent_and_kept_in_the_session_only(fake_env, monkeypatch):
    isolate_sdk_env(monkeypatch)
    at = new_app()
    with FakeOpenAI(api_key=TYPED_KEY) as fake:
        fake.default = fake.chat("4")
        _add_endpoint(at, "withkey", fake.base_url, key=TYPED_KEY)
        settings = _settings(at)
        assert TYPED_KEY not in str(settings.endpoints["withkey"].to_dict())
        _call(settings, "compat:withkey/m1")
        assert fake.requests[-1].header("authorization") == f"Bearer {TYPED_KEY}"
    # never shown on the page
    shown = " ".join(str(getattr(e, "value", "")) for e in at.sidebar.caption) + str(at.sidebar.text)
    assert TYPED_KEY not in shown


def test_host_configured_endpoint_uses_the_variable_the_host_named(fake_env, monkeypatch):
    isolate_sdk_env(monkeypatch)
    with FakeOpenAI(api_key=SERVER_SECRET) as fake:
        fake.default = fake.chat("4")
        monkeypatch.setenv("LAB_SERVER_KEY", SERVER_SECRET)
        monkeypatch.setenv(
            "TALE_ENDPOINTS",
            f'[{{"name": "lab", "base_url": "{fake.base_url}", "models": ["m1"], "api_key_env": "LAB_SERVER_KEY"}}]',
        )
        at = new_app()
        _call(_settings(at), "compat:lab/m1")
        assert fake.requests[-1].header("authorization") == f"Bearer {SERVER_SECRET}"
        # a visitor cannot take over the host's endpoint name to redirect its key elsewhere
        _add_endpoint(at, "lab", "http://127.0.0.1:9/v1")
        assert any("configured by the host" in e for e in errors(at))
        assert _settings(at).endpoints["lab"].base_url == fake.base_url


def test_host_endpoint_from_app_secrets_uses_the_secret_the_host_named(fake_env, monkeypatch):
    import json

    from db.scrub import clean_text

    isolate_sdk_env(monkeypatch)
    with FakeOpenAI(api_key=SERVER_SECRET) as fake:
        fake.default = fake.chat("4")
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.secrets["TALE_ENDPOINTS"] = json.dumps(
            [{"name": "hosted", "base_url": fake.base_url, "models": ["m1"], "api_key_env": "HOSTED_KEY"}]
        )
        at.secrets["HOSTED_KEY"] = SERVER_SECRET
        at.session_state["models"] = ["fake/elastic"]
        at.run()
        no_exception(at)
        _call(_settings(at), "compat:hosted/m1")
        assert fake.requests[-1].header("authorization") == f"Bearer {SERVER_SECRET}"
    assert SERVER_SECRET not in clean_text(f"echo {SERVER_SECRET}")  # the scrubber learnt the key in use
