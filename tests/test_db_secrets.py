"""No API key ever reaches the database file or an exported bundle.

Keys are planted everywhere they could leak from: the environment and the provider settings (a real
OpenAI SDK call to a loopback fake server authenticates with one), a key typed into the sidebar
(``register_secret``), the request dict of a Completion, a model answer that echoes a key, an error
message, the experiment's config. Then every byte of the SQLite files (main file and WAL) and of the
bundles is searched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from db import scrub as scrub_mod
from db.bundle import export_bytes, import_bundle
from db.recorder import Recorder
from db.store import Store
from tale_core.engine.calls import call_model
from tale_core.providers import resolve
from tale_core.settings import ProviderSettings
from tale_core.types import GenParams, Message
from tests.fakeservers import FakeOpenAI, isolate_sdk_env
from tests.helpers_db import PLANTED_ANT_KEY, PLANTED_KEY, make_record

ROOT = Path(__file__).resolve().parents[1]
SIDEBAR_KEY = "typed-in-sidebar-0123456789-secret"
ENDPOINT_KEY = "local-endpoint-token-ABCDEF987654"
NEEDLES = [
    PLANTED_KEY,
    PLANTED_ANT_KEY,
    SIDEBAR_KEY,
    ENDPOINT_KEY,
    "PLANTEDtestKEY",
    "PLANTEDanthropicKEY",
    "typed-in-sidebar",
    "local-endpoint-token",
]


@pytest.fixture
def planted(monkeypatch):
    isolate_sdk_env(monkeypatch)
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", PLANTED_ANT_KEY)
    monkeypatch.setenv("MYLAB_API_KEY", ENDPOINT_KEY)
    scrub_mod.register_secret(SIDEBAR_KEY)
    yield
    with scrub_mod._reg_lock:
        scrub_mod._registered.discard(SIDEBAR_KEY)


def _leaks(blob: bytes) -> list[str]:
    return [n for n in NEEDLES if n.encode() in blob]


def _db_bytes(db_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(db_dir.iterdir()) if p.is_file())


def test_no_key_in_database_files_or_bundles(planted, tmp_path):
    db_dir = tmp_path / "db"
    url = f"sqlite:///{db_dir / 'tale.db'}"
    store = Store(url)
    settings = ProviderSettings.from_env()
    assert settings.openai_api_key == PLANTED_KEY

    config = {
        "models": ["openai/gpt-4o-mini"],
        "settings": settings.redacted(),
        "api_key": PLANTED_KEY,
        "headers": {"Authorization": f"Bearer {PLANTED_KEY}"},
        "note": f"my key is {SIDEBAR_KEY}",
    }
    rec = Recorder.start("playground", f"key {PLANTED_ANT_KEY} in title", config, store=store)
    msgs = [Message("system", "You are a helpful assistant."), Message("user", "Q: 2+2?\nLet's think step by step:\n")]

    with FakeOpenAI(api_key=PLANTED_KEY) as srv:
        srv.enqueue(
            srv.chat(
                f"Sure, your key is {PLANTED_KEY} and {ENDPOINT_KEY}. Answer: [[4]]",
                prompt_tokens=20,
                completion_tokens=12,
            )
        )
        settings.openai_base_url = srv.base_url
        model = resolve("openai/gpt-4o-mini", settings)
        ok = call_model(model, msgs, GenParams(max_tokens=64), cache=rec.cache, sink=rec.sink, question="2+2?")
        assert ok.ok, ok.error
        assert srv.requests[0].header("authorization") == f"Bearer {PLANTED_KEY}"  # the key was really used
        wrong = resolve(
            "openai/gpt-4o-mini",
            ProviderSettings.from_env(openai_api_key="sk-wrongkey0123456789abcdefghij", openai_base_url=srv.base_url),
        )
        bad = call_model(wrong, msgs, GenParams(max_tokens=64, seed=5), sink=rec.sink)
        assert bad.error is not None

    # a provider that (wrongly) put secrets into its request dict, and an error message quoting a key
    rec.sink.on_call(
        make_record(
            request={
                "headers": {"Authorization": f"Bearer {PLANTED_KEY}", "x-api-key": PLANTED_ANT_KEY},
                "api_key": PLANTED_KEY,
                "extra_body": {"token": SIDEBAR_KEY},
            },
            extra={"api_key": PLANTED_KEY, "env": {"OPENAI_API_KEY": PLANTED_KEY}},
        )
    )
    rec.sink.on_call(make_record(error={"kind": "auth", "message": f"Incorrect API key provided: {PLANTED_KEY}"}))
    rec.finish("done", {"last_error": f"auth failed for {PLANTED_ANT_KEY}", "api_key": SIDEBAR_KEY})
    store.annotate(rec.id, f"remember {PLANTED_KEY}")
    assert rec.sink.failures == [] and len(store.calls_for(rec.id)) == 4

    bundle = export_bytes(rec.id, store)
    assert _leaks(bundle) == []
    # the bundle still holds the answer around the redacted key
    calls = json.loads(bundle)["calls"]
    assert any("[redacted]" in c["response"] and "[[4]]" in c["response"] for c in calls)

    # an imported bundle that carries keys is scrubbed on the way in, too
    hostile = json.loads(bundle)
    hostile["experiment"]["notes"] = f"imported {PLANTED_KEY}"
    hostile["calls"][0]["detail"] = {"completion": {"request": {"api_key": PLANTED_KEY}}}
    import_bundle(json.dumps(hostile), store)

    # and through the CLI's export
    out = tmp_path / "bundle.json"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TALE_DATABASE_URL": url}
    res = subprocess.run(
        [sys.executable, "-m", "tale_core", "experiments", "export", rec.id, str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert _leaks(out.read_bytes()) == []

    assert _leaks(_db_bytes(db_dir)) == []  # main file + WAL before a checkpoint
    from db.engine import dispose

    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    dispose(url)
    assert _leaks(_db_bytes(db_dir)) == []


def test_scrub_rules():
    from db.scrub import REDACTED, scrub

    assert scrub(
        {
            "api_key": "x" * 20,
            "Authorization": "Bearer abc",
            "max_tokens": 5,
            "input_tokens": 3,
            "api_key_env": "MY_KEY",
            "password": "",
            "nested": [{"X-Api-Key": "k"}],
        }
    ) == {
        "api_key": REDACTED,
        "Authorization": REDACTED,
        "max_tokens": 5,
        "input_tokens": 3,
        "api_key_env": "MY_KEY",
        "password": "",
        "nested": [{"X-Api-Key": REDACTED}],
    }
    assert scrub("call sk-ant-api03-abcdefghijklmnopqrstu now") == f"call {REDACTED} now"
    assert scrub("gsk_abcdefghijklmnopqrstuvwx and AIza" + "b" * 35) == f"{REDACTED} and {REDACTED}"
    # ordinary text is left alone
    text = "Let's think step by step: sk- is a prefix; 12 tokens; Bearer of news."
    assert scrub(text) == text
    assert scrub({"x": float("nan"), "y": (1, 2), "z": {1, 2} - {1, 2}}) == {"x": None, "y": [1, 2], "z": []}
