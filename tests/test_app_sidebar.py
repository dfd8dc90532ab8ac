"""The shared sidebar: model readiness, session-only keys, custom endpoints, deep-linked models."""

from __future__ import annotations

from tale_core.providers import ModelStatus
from tale_core.providers.catalog import ModelInfo
from tests.helpers_app import all_values, button, errors, new_app, no_exception, unescape
from ui.sidebar import default_models

SECRET = "sk-test-0123456789abcdefghijklmnop"


def options(at) -> list[str]:
    return list(at.sidebar.multiselect[0].options)


def test_unavailable_models_say_why(fake_env):
    at = new_app()
    no_exception(at)
    opts = options(at)
    assert "openai/gpt-4o-mini (needs OPENAI_API_KEY)" in opts
    assert "anthropic/claude-haiku-4-5 (needs ANTHROPIC_API_KEY)" in opts
    assert "fake/elastic" in opts


def test_picking_an_unready_model_warns_instead_of_crashing(fake_env):
    at = new_app("pages/playground.py", models=["openai/gpt-4o-mini"])
    no_exception(at)
    assert any("not ready" in unescape(w.value) and "OPENAI_API_KEY" in unescape(w.value) for w in at.sidebar.warning)
    assert any("Pick a model" in i.value for i in at.info)  # nothing runnable: the page says what to do


def test_key_typed_in_session_makes_models_ready_and_is_never_shown(fake_env):
    at = new_app()
    at.text_input(key="_key_OPENAI_API_KEY").input(SECRET).run()
    no_exception(at)
    assert "openai/gpt-4o-mini" in options(at)
    assert any("in use, typed in this session" in c.value for c in at.sidebar.caption)
    assert SECRET not in all_values(at)


def test_add_custom_endpoint_and_reject_bad_url(fake_env):
    at = new_app()
    form_inputs = at.sidebar.text_input
    by_label = {t.label: t for t in form_inputs}
    by_label["Name"].input("myllm")
    by_label["Base URL"].input("ftp://nope")
    by_label["Model names (comma separated)"].input("tiny")
    button(at, "Add endpoint").click().run()
    no_exception(at)
    assert any("base URL must start with http" in e for e in errors(at))
    by_label = {t.label: t for t in at.sidebar.text_input}
    by_label["Base URL"].input("http://127.0.0.1:9/v1")
    button(at, "Add endpoint").click().run()
    no_exception(at)
    assert "compat:myllm/tiny" in options(at)


def test_models_from_a_shared_link(fake_env):
    at = new_app(models=None, query={"models": "fake/flat,fake/compliant,nonsense/x"})
    no_exception(at)
    assert at.sidebar.multiselect[0].value == ["fake/flat", "fake/compliant"]


def test_bad_endpoints_in_environment_do_not_break_the_app(fake_env, monkeypatch):
    monkeypatch.setenv("TALE_ENDPOINTS", "{not json")
    at = new_app()
    no_exception(at)
    assert any("Ignoring endpoints" in e for e in errors(at))


def _status(spec: str, ok: bool) -> ModelStatus:
    provider, model = spec.split("/", 1)
    return ModelStatus(ModelInfo(provider, model, model, 8192, 1024), ok, "" if ok else "missing")


def test_default_model_prefers_the_elastic_demo_models():
    assert default_models([_status("local/smollm2", True), _status("fake/elastic", True)]) == ["fake/elastic"]
    assert default_models([_status("local/smollm2", True), _status("local/qwen2.5-coder-1.5b", True)]) == [
        "local/qwen2.5-coder-1.5b"
    ]
    assert default_models([_status("local/smollm2", True)]) == ["local/smollm2"]
    assert default_models([_status("local/smollm2", True), _status("fake/simulated", True)]) == ["fake/simulated"]
    assert default_models([_status("openai/gpt-4o", False)]) == []


def test_app_runs_without_a_database(fake_env, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the database folder should be")
    monkeypatch.setenv("TALE_DATABASE_URL", f"sqlite:///{blocker}/sub/tale.db")
    at = new_app("pages/playground.py")
    at.text_area(key="pg_question").input("What is 6 times 7?")
    button(at, "Run").click().run()
    no_exception(at)
    assert any("not saved" in c.value for c in at.caption)
    exp = new_app("pages/experiments.py")
    no_exception(exp)
    assert errors(exp)
