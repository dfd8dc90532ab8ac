"""Experiments recorded by the CLI (same engine, same database) open in the app's pages."""

from __future__ import annotations

import pytest

from tale_core import cli
from tale_core.providers.scripted import ScriptedModel
from tests.helpers_app import chart_specs, new_app, no_exception
from ui import services

QUESTION = "What is 6 times 7?"


@pytest.fixture
def cli_recording(fake_env, capsys):
    from db.recorder import recorder_factory

    ScriptedModel.answers[QUESTION] = "42"
    cli.set_recorder_factory(recorder_factory)
    yield
    cli.set_recorder_factory(None)
    ScriptedModel.answers.pop(QUESTION, None)


def latest_id() -> str:
    return services.get_store().list_experiments(limit=1)[0].id


def test_cli_sweep_opens_on_the_sweep_page(cli_recording):
    assert (
        cli.main(["sweep", QUESTION, "--answer", "42", "--model", "fake/elastic", "--budgets", "10,50,200", "--json"])
        == 0
    )
    at = new_app("pages/sweep.py", query={"experiment": latest_id()})
    no_exception(at)
    curve = next(t for t in chart_specs(at)[0]["data"] if t.get("name") == "fake/elastic")
    assert curve["y"] == [157, 86, 200]


def test_cli_search_opens_on_the_search_page_with_its_path(cli_recording):
    assert cli.main(["search", QUESTION, "--answer", "42", "--model", "fake/elastic", "--json"]) == 0
    at = new_app("pages/search.py", query={"experiment": latest_id()})
    no_exception(at)
    chosen = [m.value for m in at.metric if m.label == "Chosen budget"]
    assert chosen == ["64", "48"]
    paths = [t for t in chart_specs(at)[0]["data"] if t.get("mode") == "lines+markers+text"]
    assert len(paths) == 2 and all(len(p["x"]) >= 3 for p in paths)


def test_cli_benchmark_opens_and_reruns_from_the_app(cli_recording):
    assert (
        cli.main(
            [
                "bench",
                "--dataset",
                "samples",
                "--model",
                "fake/elastic",
                "--methods",
                "vanilla,tale-ep",
                "--limit",
                "2",
                "--json",
            ]
        )
        == 0
    )
    eid = latest_id()
    at = new_app("pages/benchmark.py", query={"experiment": eid})
    no_exception(at)
    assert list(at.dataframe[0].value["Method"]) == ["Vanilla CoT", "TALE-EP"]
    ex = new_app("pages/experiments.py", query={"experiment": eid})
    [b for b in ex.button if b.label == "Rerun"][0].click().run()
    no_exception(ex)
    assert ex.title[0].value == "Benchmark"
