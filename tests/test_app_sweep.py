"""Elasticity sweep page: configuration, cost preview, background run, live/stored results, errors."""

from __future__ import annotations

import dataclasses

from tests.helpers_app import button, captions, chart_specs, errors, new_app, no_exception, unescape
from ui.jobs import registry

PAGE = "pages/sweep.py"
QUESTION = "What is 6 times 7?"


def configure(at, question=QUESTION, gold="42", budgets="5, 10, 50, 200"):
    at.text_area(key="sw_question").input(question)
    at.text_input(key="sw_gold").input(gold)
    at.text_input(key="sw_budget_list").input(budgets)
    return at.run()


def start_and_finish(at):
    button(at, "Start sweep").click().run()
    no_exception(at)
    job_id = at.query_params["experiment"]
    job_id = job_id[0] if isinstance(job_id, list) else job_id
    job = registry().wait(job_id, timeout_s=60)
    assert job is not None and not job.running, "sweep did not finish"
    at.run()
    no_exception(at)
    return job


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_empty_page_says_what_to_do(fake_env):
    at = new_app(PAGE)
    no_exception(at)
    assert at.title[0].value == "Elasticity sweep"
    assert any("Type a question" in i.value for i in at.info)
    assert button(at, "Start sweep").disabled


def test_bad_budget_list_is_explained(fake_env):
    at = new_app(PAGE)
    configure(at, budgets="10, -5, abc")
    no_exception(at)
    assert errors(at), "no message for a bad budget list"
    assert button(at, "Start sweep").disabled


def test_cost_preview_counts_calls_before_starting(fake_env):
    at = new_app(PAGE, models=["fake/elastic", "fake/flat"])
    configure(at)
    no_exception(at)
    assert metric(at, "Calls") == "10"  # 2 models x (4 budgets + vanilla reference)
    assert "Spend cap" in " ".join(captions(at))


def test_sweep_runs_in_background_and_draws_the_curve(fake_env):
    at = new_app(PAGE)
    configure(at)
    job = start_and_finish(at)
    assert job.status == "done" and job.done == 5
    specs = chart_specs(at)
    assert len(specs) == 2
    elasticity = specs[0]
    assert elasticity["layout"]["xaxis"]["type"] == "log"
    names = [t.get("name") for t in elasticity["data"]]
    assert "fake/elastic" in names and any("vanilla CoT (258 tokens)" in (n or "") for n in names)
    curve = next(t for t in elasticity["data"] if t.get("name") == "fake/elastic")
    assert curve["x"] == [5, 10, 50, 200] and curve["y"] == [165, 157, 86, 200]
    text = " ".join(m.value for m in at.markdown)
    assert "sweet spot at budget 50" in text and "elastic region 5-50" in text
    assert "Saved as experiment" in " ".join(captions(at))


def test_stored_sweep_reopens_from_a_link(fake_env):
    at = new_app(PAGE)
    configure(at)
    job = start_and_finish(at)
    registry()._jobs.pop(job.id)  # as if the server restarted: only the database has it
    other = new_app(PAGE, query={"experiment": job.id})
    no_exception(other)
    assert "What is 6 times 7" in other.subheader[0].value
    curve = next(t for t in chart_specs(other)[0]["data"] if t.get("name") == "fake/elastic")
    assert curve["y"] == [165, 157, 86, 200]


def test_unknown_experiment_link_says_so(fake_env):
    at = new_app(PAGE, query={"experiment": "nope-not-here"})
    no_exception(at)
    assert any("No experiment with id" in e for e in errors(at))


def test_failing_model_gives_error_cells_not_a_crash(fake_env):
    at = new_app(PAGE, models=["fake/error"])
    configure(at)
    job = start_and_finish(at)
    assert job.errors == 5
    # a sweep where every call failed reads as a failure, with its cause, before anything else
    errs = [unescape(e) for e in errors(at)]
    assert any(e.startswith("Every call failed: 5 of 5 cells") for e in errs), errs
    assert any(e.startswith("Every call failed. Cause (5 of 5):") for e in errs), errs
    assert not at.get("progress"), "no full 'Finished' bar for a sweep that produced nothing"
    assert not chart_specs(at), "no empty chart saying 'start a sweep'"
    text = " ".join(str(m.value) for m in at.markdown) + " ".join(str(i.value) for i in at.info)
    assert "Finished" not in text and "No budget results yet" not in text


def test_partly_failing_sweep_shows_the_cause_above_the_chart(fake_env):
    at = new_app(PAGE, models=["fake/flaky"])
    configure(at)
    start_and_finish(at)
    warn = [unescape(str(w.value)) for w in at.warning]
    assert any("cell(s) failed. Cause" in w for w in warn), warn
    assert chart_specs(at)


def test_cancel_stops_new_calls(fake_env, monkeypatch):
    from tale_core.providers import scripted

    # 1 s per call, 4 at a time: 21 cells take about 6 s, so the cancel lands long before the end
    monkeypatch.setitem(
        scripted.SCRIPTED_CURVES, "slow", dataclasses.replace(scripted.SCRIPTED_CURVES["slow"], latency=1.0)
    )
    at = new_app(PAGE, models=["fake/slow"])
    configure(at, budgets="1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20")
    button(at, "Start sweep").click().run()
    job_id = at.query_params["experiment"]
    job_id = job_id[0] if isinstance(job_id, list) else job_id
    at.run()
    no_exception(at)
    button(at, "Cancel sweep").click().run()
    job = registry().wait(job_id, timeout_s=60)
    assert job.status == "cancelled"
    assert job.done < job.total


def test_leaving_a_running_sweep_and_coming_back_reattaches_it(fake_env, monkeypatch):
    from tale_core.providers import scripted

    monkeypatch.setitem(
        scripted.SCRIPTED_CURVES, "slow", dataclasses.replace(scripted.SCRIPTED_CURVES["slow"], latency=0.5)
    )
    at = new_app(PAGE, models=["fake/slow"])
    configure(at, question="How many legs do 3 spiders have?", gold="24", budgets="5, 10, 20, 50, 100, 200, 400, 800")
    button(at, "Start sweep").click().run()
    job_id = at.query_params["experiment"]
    job_id = job_id[0] if isinstance(job_id, list) else job_id
    at.switch_page("pages/playground.py").run()
    at.query_params.clear()  # another page: the link to the sweep is gone
    at.switch_page(PAGE).run()
    no_exception(at)
    assert registry().get(job_id).running, "the test needs the sweep still running"
    # the live view is back, not an empty form
    assert at.subheader and unescape(at.subheader[0].value).startswith("Sweep: How many legs")
    assert not [b for b in at.button if b.label == "Start sweep"]
    assert any(b.label == "Cancel sweep" for b in at.button)
    qp = at.query_params["experiment"]
    assert (qp[0] if isinstance(qp, list) else qp) == job_id
    # "New sweep" returns to the form, filled with that sweep's settings
    button(at, "New sweep").click().run()
    no_exception(at)
    assert at.text_area(key="sw_question").value == "How many legs do 3 spiders have?"
    assert at.text_input(key="sw_gold").value == "24"
    assert at.text_input(key="sw_budget_list").value == "5, 10, 20, 50, 100, 200, 400, 800"
    registry().cancel(job_id)
    registry().wait(job_id, 30)
