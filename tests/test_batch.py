"""Batch executor: OpenAI Batch API and Anthropic Message Batches through the real SDKs, against a loopback
server (tests/fake_batch_servers.py). Checks the round structure (TALE-EP = two rounds), that results are
ordinary records (sink, cache, batch price), per-request errors, expiry, cancel and resume."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tale_core.accounting.batch_pricing import batch_price_factor
from tale_core.engine.batch import BatchEvent, BatchSession, custom_id
from tale_core.engine.calls import cost_of
from tale_core.errors import TaleError
from tale_core.experiments.benchmark import run_benchmark
from tale_core.protocols import CallRecord, MemoryCache
from tale_core.providers.anthropic_api import AnthropicModel
from tale_core.providers.openai_compat import OpenAIModel
from tests.fake_batch_servers import FakeBatchServer

ITEMS = [{"id": f"q{i}", "question": f"What is {i} + 40?", "answer": "42"} for i in range(3)]


class ListSink:
    def __init__(self) -> None:
        self.records: list[CallRecord] = []
        self._lock = threading.Lock()

    def on_call(self, record: CallRecord) -> None:
        with self._lock:
            self.records.append(record)


def _openai(srv: FakeBatchServer) -> dict[str, Any]:
    m = OpenAIModel("gpt-4o-mini", api_key="sk-test", base_url=srv.openai_url, max_retries=0)
    return {m.spec: m}


def _anthropic(srv: FakeBatchServer) -> dict[str, Any]:
    m = AnthropicModel("claude-haiku-4-5", api_key="sk-ant-test", base_url=srv.anthropic_url, max_retries=0)
    return {m.spec: m}


def _session(**kw: Any) -> BatchSession:
    kw.setdefault("poll_s", 0.01)
    kw.setdefault("settle_s", 0.1)
    kw.setdefault("max_wait_s", 30)
    return BatchSession(**kw)


def _run(models: dict[str, Any], session: BatchSession, methods: list[str], **kw: Any) -> Any:
    with session:
        return run_benchmark(ITEMS, methods, session.wrap(models), **kw)


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_two_rounds_records_cache_and_batch_price(api: str) -> None:
    with FakeBatchServer(polls_until_done=2) as srv:
        models = _openai(srv) if api == "openai" else _anthropic(srv)
        sink, cache = ListSink(), MemoryCache()
        events: list[BatchEvent] = []
        stored: list[dict[str, Any]] = []
        sess = _session(on_event=events.append, on_batch=stored.append)
        # caching asked for: Claude takes no seed, so its calls are not replayed by default
        out = _run(models, sess, ["direct", "tale-ep"], sink=sink, cache=cache, use_cache=True)

        assert out.status == "done" and out.errors == 0
        assert len(out.rows) == 6
        # TALE-EP's answer depends on its estimate: round 1 = direct answers + estimates, round 2 = answers
        assert [b["requests"] for b in stored] == [6, 3]
        assert [b["round"] for b in stored] == [1, 2]
        assert set(srv.batches) == {b["batch_id"] for b in stored}
        assert {e.kind for e in events} >= {"submitted", "progress", "ended"}
        assert events[-1].kind == "ended" and events[-1].done == 3
        # every call is an ordinary record: 3 direct + 3 x (estimate, answer)
        assert len(sink.records) == 9 and all(r.ok for r in sink.records)
        assert sorted(r.role for r in sink.records).count("estimate") == 3
        assert len(cache) == 9
        spec = next(iter(models))
        prov, name = spec.split("/", 1)
        factor = batch_price_factor(prov)
        assert factor == 0.5
        for r in sink.records:
            assert r.completion is not None
            full = cost_of(prov, name, r.completion.input_tokens, r.completion.output_tokens)
            assert full is not None and r.cost_usd == pytest.approx(full * 0.5)
            assert "batch price" in r.extra["price_basis"]
            assert r.extra["cell"] and r.completion.usage_source == "provider"
        tale = [row for row in out.rows if row.get("method") == "tale-ep"]
        assert tale and all(row.get("estimate_parsed") == 48 for row in tale), tale[0]

        # the same plan again, live (no batch) with the cache: all hits, no new batch, same answers
        n_batches = len(srv.batches)
        sink2 = ListSink()
        again = run_benchmark(ITEMS, ["direct", "tale-ep"], models, sink=sink2, cache=cache, use_cache=True)
        assert again.status == "done" and all(r.cache_hit for r in sink2.records) and len(sink2.records) == 9
        assert len(srv.batches) == n_batches


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_partially_failed_batch_gives_error_records(api: str) -> None:
    def fail(cid: str, body: dict[str, Any]) -> str | None:
        return (
            "bad request for q1" if cid.startswith(("openai_gpt-4o-mini_q1", "anthropic_claude-haiku-4-5_q1")) else None
        )

    with FakeBatchServer(fail=fail) as srv:
        models = _openai(srv) if api == "openai" else _anthropic(srv)
        sink, cache = ListSink(), MemoryCache()
        out = _run(models, _session(), ["direct"], sink=sink, cache=cache, use_cache=True)
        bad = [r for r in sink.records if not r.ok]
        good = [r for r in sink.records if r.ok]
        assert len(bad) == 1 and len(good) == 2, [r.extra.get("cell") for r in sink.records]
        assert bad[0].question_id == "q1" and "bad request for q1" in bad[0].error["message"]
        assert len(cache) == 2  # an error is never cached
        assert out.status == "done" and out.errors == 1


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_expired_batch(api: str) -> None:
    with FakeBatchServer(expire_after=1) as srv:
        models = _openai(srv) if api == "openai" else _anthropic(srv)
        sink = ListSink()
        events: list[BatchEvent] = []
        out = _run(models, _session(on_event=events.append), ["direct"], sink=sink)
        assert sum(r.ok for r in sink.records) == 1
        expired = [r for r in sink.records if not r.ok]
        assert len(expired) == 2 and all("expired" in r.error["message"] for r in expired)
        assert out.errors == 2
        assert events[-1].state in ("expired", "ended")


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_cancel_cancels_the_provider_batch(api: str) -> None:
    with FakeBatchServer(polls_until_done=10**6, done_before_cancel=1) as srv:
        models = _openai(srv) if api == "openai" else _anthropic(srv)
        cancel = threading.Event()
        sink = ListSink()

        def on_event(ev: BatchEvent) -> None:
            if ev.kind == "progress" and ev.state == "in_progress":
                cancel.set()

        sess = _session(on_event=on_event, cancel=cancel)
        with sess:
            out = run_benchmark(ITEMS, ["direct"], sess.wrap(models), sink=sink, cancel=cancel)
        assert any(p.endswith("/cancel") for _, p in srv.log)
        (b,) = srv.batches.values()
        assert b.state in ("cancelled", "ended")
        assert len(sink.records) == 3 and sum(r.ok for r in sink.records) == 1
        assert {r.error["kind"] for r in sink.records if not r.ok} == {"cancelled"}
        assert out.errors == 2


def test_resume_after_restart_reads_the_stored_batch() -> None:
    with FakeBatchServer(polls_until_done=1) as srv:
        models = _openai(srv)
        stored: list[dict[str, Any]] = []
        submitted = threading.Event()
        hold = threading.Event()

        def on_batch(info: dict[str, Any]) -> None:
            stored.append(info)
            submitted.set()

        # process 1: submits round 1, then "dies" while waiting (its thread never comes back)
        first = BatchSession(poll_s=0.01, settle_s=0.1, on_batch=on_batch, sleep=lambda s: hold.wait(120))
        wrapped = first.wrap(models)
        t = threading.Thread(target=run_benchmark, args=(ITEMS, ["direct", "tale-ep"], wrapped), daemon=True)
        t.start()
        assert submitted.wait(20)
        assert len(srv.batches) == 1

        # process 2: new session and models, the stored batch id; round 1 comes from that batch
        models2 = _openai(srv)
        sink = ListSink()
        second = _session(resume=stored)
        with second:
            out = run_benchmark(ITEMS, ["direct", "tale-ep"], second.wrap(models2), sink=sink)
        hold.set()
        assert out.status == "done" and out.errors == 0 and len(sink.records) == 9
        assert len(srv.batches) == 2  # the resumed one + round 2 (TALE-EP's answers) only
        assert [b["round"] for b in second.batches] == [2] and second.batches[0]["requests"] == 3


def test_resume_sends_again_what_an_expired_stored_batch_did_not_run() -> None:
    with FakeBatchServer(polls_until_done=1) as srv:
        stored: list[dict[str, Any]] = []
        hold = threading.Event()
        first = BatchSession(poll_s=0.01, settle_s=0.1, on_batch=stored.append, sleep=lambda s: hold.wait(120))
        args = (ITEMS, ["direct", "tale-ep"], first.wrap(_openai(srv)))
        threading.Thread(target=run_benchmark, args=args, daemon=True).start()
        for _ in range(400):
            if stored:
                break
            hold.wait(0.05)
        assert stored
        srv.expire_after, srv.expire_only = 2, {stored[0]["batch_id"]}  # it expires with 2 of 6 run

        sink = ListSink()
        second = _session(resume=stored)
        with second:
            out = run_benchmark(ITEMS, ["direct", "tale-ep"], second.wrap(_openai(srv)), sink=sink)
        hold.set()
        assert out.status == "done" and out.errors == 0 and len(sink.records) == 9
        # the 4 requests the expired batch never ran are sent again, then TALE-EP's 3 answers (the one whose
        # estimate came from the stored batch may go in a round of its own): 7 requests, none twice
        sent = [(b["round"], b["requests"]) for b in second.batches]
        assert sent[0] == (1, 4) and sum(n for _, n in sent[1:]) == 3, sent
        assert len(srv.batches) == 1 + len(sent)


def test_abandon_leaves_the_batch_running_and_returns_at_once() -> None:
    with FakeBatchServer(polls_until_done=10**6) as srv:
        stored: list[dict[str, Any]] = []
        sess = _session(on_batch=stored.append, poll_s=0.05)
        args = (ITEMS, ["direct"], sess.wrap(_openai(srv)))
        threading.Thread(target=run_benchmark, args=args, daemon=True).start()
        for _ in range(400):
            if stored:
                break
            threading.Event().wait(0.05)
        sess.abandon()
        sess.close()  # must not wait for the batch (it would wait for ever: the server never ends it)
        assert stored and not any(p.endswith("/cancel") for _, p in srv.log)
        assert srv.batches[stored[0]["batch_id"]].state == "in_progress"


def test_custom_id_is_provider_safe_and_stable() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    a = custom_id("openai/gpt-4o|q1|tale-ep|r0", body)
    assert a == custom_id("openai/gpt-4o|q1|tale-ep|r0", dict(body))
    assert len(a) <= 64 and all(c.isalnum() or c in "-_" for c in a)
    assert a != custom_id("openai/gpt-4o|q1|tale-ep|r0", {**body, "max_tokens": 5})
    long = custom_id("x" * 300, body)
    assert len(long) <= 64 and long != custom_id("x" * 299 + "y", body)


def test_price_factor_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALE_BATCH_PRICE_FACTOR_OPENAI", "0.4")
    assert batch_price_factor("openai") == 0.4
    assert batch_price_factor("compat:vllm") == 0.4
    assert batch_price_factor("anthropic") == 0.5
    monkeypatch.setenv("TALE_BATCH_PRICE_FACTOR_OPENAI", "2")
    with pytest.raises(TaleError):
        batch_price_factor("openai")


def test_model_without_batch_api_is_refused() -> None:
    from tale_core.errors import ProviderError
    from tale_core.providers.base import ChatModel

    class Local(ChatModel):
        provider, model = "local", "tiny"

        def complete(self, messages: Any, params: Any, on_text: Any = None) -> Any:
            raise AssertionError("never called")

    with pytest.raises(ProviderError, match="no batch API"):
        BatchSession().wrap({"local/tiny": Local()})


def test_bad_session_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        BatchSession(poll_s=0)


def test_cli_bench_batch_stores_batch_ids_and_batch_priced_calls(monkeypatch, tmp_path, capsys) -> None:
    import json

    from db.engine import dispose
    from db.store import Store
    from tale_core import cli as core_cli

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TALE_DATABASE_URL", url)
    old_factory = core_cli.RECORDER_FACTORY
    import db.cli  # noqa: F401 - registers the recorder factory

    data = tmp_path / "qs.jsonl"
    data.write_text("".join(json.dumps(it) + "\n" for it in ITEMS[:2]))
    try:
        with FakeBatchServer() as srv:
            monkeypatch.setenv("OPENAI_BASE_URL", srv.openai_url)
            monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
            rc = core_cli.main(
                ["bench", "--dataset", str(data), "--methods", "direct,tale-ep", "--model", "openai/gpt-4o-mini"]
                + ["--batch", "--batch-poll", "0.01", "--json"]
            )
            out = capsys.readouterr()
            assert rc == 0, out.err
            obj = json.loads(out.out)
            assert "batch" in out.err  # progress lines
            exp = Store(url).get_experiment(obj["experiment_id"])
            stored = exp.config["batch"]["batches"]
            assert [b["batch_id"] for b in stored] == sorted(srv.batches) and [b["requests"] for b in stored] == [4, 2]
            assert "batch discount" in exp.summary["batch"]["price"]
            calls = exp.records
            assert len(calls) == 6 and all(c.ok and "batch price" in c.extra["price_basis"] for c in calls)
    finally:
        core_cli.set_recorder_factory(old_factory)
        dispose(url)


def test_cli_resume_collects_the_stored_batch(monkeypatch, tmp_path, capsys) -> None:
    """A --batch benchmark whose process died after sending round 1: `experiments resume` reads the batch id
    stored with the experiment and pays for no request twice."""
    import json

    from db.engine import dispose
    from db.recorder import Recorder
    from db.store import Store
    from tale_core import cli as core_cli
    from tale_core.types import GenParams

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TALE_DATABASE_URL", url)
    old_factory = core_cli.RECORDER_FACTORY
    import db.cli  # noqa: F401

    data = tmp_path / "qs.jsonl"
    data.write_text("".join(json.dumps(it) + "\n" for it in ITEMS[:2]))
    hold = threading.Event()
    try:
        with FakeBatchServer() as srv:
            monkeypatch.setenv("OPENAI_BASE_URL", srv.openai_url)
            monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
            store = Store(url)
            config = {
                "dataset": {"source": str(data), "name": "qs"},
                "item_ids": ["q0", "q1"],
                "methods": ["direct", "tale-ep"],
                "models": ["openai/gpt-4o-mini"],
                "params": GenParams().to_dict(),
                "spend_cap_usd": None,
                "repeats": 1,
                "batch": {"poll_s": 0.01, "batches": []},
            }
            rec = Recorder.start("benchmark", "crashing", config, store=store)
            first = BatchSession(poll_s=0.01, settle_s=0.1, on_batch=rec.add_batch, sleep=lambda s: hold.wait(120))
            models = first.wrap(_openai(srv))
            args = (ITEMS[:2], ["direct", "tale-ep"], models)
            threading.Thread(
                target=run_benchmark, args=args, kwargs={"sink": rec.sink, "cache": rec.cache}, daemon=True
            ).start()
            for _ in range(400):  # bounded: until round 1 is stored with the experiment
                if store.get_experiment(rec.id, with_calls=False).config["batch"]["batches"]:
                    break
                hold.wait(0.05)
            rec._stop_beat.set()
            store.set_status(rec.id, "interrupted")  # the process "died" here

            rc = core_cli.main(["experiments", "resume", rec.id, "--json"])
            out = capsys.readouterr()
            assert rc == 0, out.err
            exp = store.get_experiment(rec.id)
            assert [b["round"] for b in exp.config["batch"]["batches"]] == [1, 2]
            assert len(srv.batches) == 2  # round 1 was collected, not sent again
            assert len(exp.records) == 6 and all(r.ok for r in exp.records)
            assert exp.status == "done"
    finally:
        hold.set()
        core_cli.set_recorder_factory(old_factory)
        dispose(url)


def test_cli_sweep_batch(monkeypatch, capsys) -> None:
    import json

    from tale_core import cli as core_cli

    monkeypatch.setattr(core_cli, "RECORDER_FACTORY", None)
    with FakeBatchServer() as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.openai_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        rc = core_cli.main(
            ["sweep", "What is 2 + 40?", "--answer", "42", "--model", "openai/gpt-4o-mini", "--budgets", "10,50"]
            + ["--batch", "--batch-poll", "0.01", "--json"]
        )
        out = capsys.readouterr()
        assert rc == 0, out.err
        obj = json.loads(out.out)
        assert [b["requests"] for b in obj["batch"]["batches"]] == [3]  # 2 budgets + the reference, one round
        assert len(obj["rows"]) == 3 and obj["errors"] == 0
        assert any("batch prices" in n for n in obj["notes"])
