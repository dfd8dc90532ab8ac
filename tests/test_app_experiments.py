"""Experiments page: history, filters, open by link, rename/notes, rerun from cache, export/import, compare,
delete with confirmation."""

from __future__ import annotations

from tests.helpers_app import button, captions, chart_specs, errors, new_app, no_exception, unescape
from ui import services
from ui.jobs import registry

PAGE = "pages/experiments.py"


def playground_run(question="What is 6 times 7?", methods=("vanilla", "budget")):
    at = new_app("pages/playground.py")
    at.text_area(key="pg_question").input(question)
    at.text_input(key="pg_gold").input("42")
    at.session_state["pg_methods"] = list(methods)
    button(at, "Run").click().run()
    no_exception(at)
    return at.session_state["pg_results"]["experiment"]


def sweep_run(budgets="10, 50"):
    at = new_app("pages/sweep.py")
    at.text_area(key="sw_question").input("What is 6 times 7?")
    at.text_input(key="sw_gold").input("42")
    at.text_input(key="sw_budget_list").input(budgets)
    at.run()
    button(at, "Start sweep").click().run()
    job_id = at.query_params["experiment"]
    job_id = job_id[0] if isinstance(job_id, list) else job_id
    registry().wait(job_id, 60)
    return job_id


def test_empty_history_says_what_to_do(fake_env):
    at = new_app(PAGE)
    no_exception(at)
    assert any("No experiments yet" in i.value for i in at.info)


def test_history_lists_runs_and_filters_them(fake_env):
    playground_run("What is 6 times 7?")
    playground_run("How many legs do 3 spiders have?")
    at = new_app(PAGE)
    no_exception(at)
    assert "2 experiment(s), newest first." in captions(at)
    at.text_input(key="ex_search").input("spiders").run()
    assert "1 experiment(s), newest first." in captions(at)
    at.text_input(key="ex_search").input("zebra").run()
    assert any("Nothing matches" in i.value for i in at.info)


def test_open_rename_annotate_and_delete_with_confirmation(fake_env):
    eid = playground_run()
    at = new_app(PAGE, query={"experiment": eid})
    no_exception(at)
    assert unescape(at.subheader[0].value).startswith("Playground: What is 6 times 7? · 2 methods · elastic · ")
    assert any(f"experiments?experiment={eid}" in c.value for c in at.code)
    at.text_input(key=f"ex_title_{eid}").input("Renamed run")
    at.text_area(key=f"ex_notes_{eid}").input("<b>not html</b> notes")
    button(at, "Save").click().run()
    no_exception(at)
    assert at.subheader[0].value == "Renamed run"
    assert any("<b>not html</b> notes" in t.value for t in at.text)
    button(at, "Delete this experiment").click().run()
    assert any("cannot be undone" in w.value for w in at.warning)
    button(at, "Keep it").click().run()
    assert services.get_store().exists(eid)
    button(at, "Delete this experiment").click().run()
    button(at, "Yes, delete it").click().run()
    no_exception(at)
    assert not services.get_store().exists(eid)
    assert any("Deleted 'Renamed run'" in s.value for s in at.success)


def test_rerun_is_free_from_the_cache(fake_env):
    eid = playground_run()
    at = new_app(PAGE, query={"experiment": eid})
    button(at, "Rerun").click().run()
    no_exception(at)
    store = services.get_store()
    children = [e for e in store.list_experiments() if e.parent_id == eid]
    assert len(children) == 1
    calls = store.calls_for(children[0].id)
    assert calls and all(c.cache_hit for c in calls)


def test_sweep_rerun_opens_the_sweep_page(fake_env):
    eid = sweep_run()
    at = new_app(PAGE, query={"experiment": eid})
    button(at, "Rerun").click().run()
    no_exception(at)
    assert at.title[0].value == "Elasticity sweep"


def test_export_then_import_a_bundle(fake_env):
    eid = playground_run()
    store = services.get_store()
    from db.bundle import export_bytes

    data = export_bytes(eid, store)
    at = new_app(PAGE, query={"experiment": eid})
    assert at.get("download_button"), "export button missing"
    at = new_app(PAGE)
    at.file_uploader(key="ex_import").upload("run.json", data, "application/json").run()
    button(at, "Import").click().run()
    no_exception(at)
    assert any("Imported" in s.value for s in at.success)
    assert store.count_experiments() == 2
    # the list refreshed after the import and tells the copy from its original
    assert "2 experiment(s), newest first." in captions(at)
    titles = [unescape(str(link.proto.label)) for link in at.get("page_link")]
    assert sum(t.startswith("Imported copy: Playground: What is 6 times 7?") for t in titles) == 1, titles
    assert sum(t.startswith("Playground: What is 6 times 7?") for t in titles) == 1, titles


def test_bulk_delete_asks_once_and_deletes_the_chosen(fake_env):
    a, b, c = playground_run("What is 6 times 7?"), playground_run("What is 2 plus 2?"), playground_run("What is 9?")
    store = services.get_store()
    at = new_app(PAGE)
    at.multiselect(key="ex_bulk_pick").set_value([a, b]).run()
    button(at, "Delete 2 experiment(s)").click().run()
    assert store.count_experiments() == 3  # not before the confirmation
    assert any("Delete 2 experiment(s) and all their calls?" in w.value for w in at.warning)
    button(at, "Yes, delete them").click().run()
    no_exception(at)
    assert store.count_experiments() == 1 and store.exists(c) and not store.exists(a)
    assert any("Deleted 2 experiment(s)." in unescape(s.value) for s in at.success)


def test_importing_garbage_is_refused_in_words(fake_env):
    at = new_app(PAGE)
    at.file_uploader(key="ex_import").upload("bad.json", b"{not json", "application/json").run()
    button(at, "Import").click().run()
    no_exception(at)
    assert errors(at)


def test_compare_two_sweeps_overlays_their_curves(fake_env):
    a, b = sweep_run("10, 50"), sweep_run("5, 100")
    at = new_app(PAGE, query={"compare": f"{a},{b}"})
    no_exception(at)
    spec = chart_specs(at)[0]
    curves = [t["name"] for t in spec["data"] if t.get("mode") == "lines+markers"]
    assert len(curves) == 2
    for i in (a, b):  # model, the sweep's title (question, settings), its id
        assert any(
            c.startswith("fake/elastic · Sweep: What is 6 times 7? · 2 budgets") and c.endswith(f"({i[:6]})")
            for c in curves
        ), curves
    assert len(at.dataframe[0].value) == 6  # 2 experiments x (vanilla + 2 budgets)


def test_unknown_link_says_so(fake_env):
    at = new_app(PAGE, query={"experiment": "missing123"})
    no_exception(at)
    assert any("No experiment with id" in e for e in errors(at))


def test_two_sweeps_with_one_title_both_stay_pickable_and_compare_without_duplicates(fake_env):
    a, b = sweep_run("5, 10, 50"), sweep_run("5, 10, 50")
    at = new_app(PAGE)
    no_exception(at)
    ms = at.multiselect(key="ex_compare_pick")
    # the options as displayed: same title, still two distinct choices
    assert len(ms.options) == 2 and len(set(ms.options)) == 2, ms.options
    ms.set_value([a, b]).run()
    assert sorted(at.multiselect(key="ex_compare_pick").value) == sorted([a, b])  # picking one kept the other
    button(at, "Compare").click().run()
    picked = at.query_params["compare"]
    picked = picked[0] if isinstance(picked, list) else picked
    assert sorted(picked.split(",")) == sorted([a, b])


def test_compare_link_with_a_repeated_id_and_overlaid_region_labels_apart(fake_env):
    a, b = sweep_run("5, 10, 50"), sweep_run("5, 10, 50")
    at = new_app(PAGE, query={"compare": f"{a},{a},{b}"})
    no_exception(at)
    assert at.subheader[0].value == "Comparing 2 experiments"
    spec = chart_specs(at)[0]
    regions = [x for x in spec["layout"]["annotations"] if "elastic region" in x["text"]]
    assert len(regions) == 2
    assert len({(r["x"], r["y"], r.get("yshift", 0)) for r in regions}) == 2  # not printed on top of each other


def test_share_link_of_a_sweep_opens_its_chart_page(fake_env):
    sid = sweep_run("10, 50")
    at = new_app(PAGE, query={"experiment": sid})
    no_exception(at)
    links = [c.value for c in at.code]
    assert any(v.endswith(f"/sweep?experiment={sid}") for v in links), links
    assert not any("experiments?experiment=" in v for v in links)
    # and that link draws the chart
    at = new_app("pages/sweep.py", query={"experiment": sid})
    no_exception(at)
    assert chart_specs(at)


def test_titles_tell_runs_apart_by_question_settings_and_time():
    from datetime import datetime

    from ui import titles

    q = "Peyton scheduled after-work activities of a one hour yoga class on Monday, a cooking class"
    t = titles.run_title("Sweep", q, "9 budgets 5-400 · simulated", at=datetime(2026, 1, 2, 19, 42))
    assert t == "Sweep: Peyton scheduled after-work activities of a… · 9 budgets 5-400 · simulated · 19:42"
    assert titles.clip("short question") == "short question"
    assert not titles.clip(q).rstrip("…").endswith(" ")  # cut at a word, not mid-word
    assert titles.clip(q, 30) == "Peyton scheduled after-work…"


def test_an_interrupted_sweep_resumes_into_the_same_experiment(fake_env):
    from db.recorder import Recorder
    from tale_core.experiments.sweep import SweepConfig, plan_cells, run_sweep
    from tale_core.providers.scripted import scripted_model

    store = services.get_store()
    config = SweepConfig(question="What is 6 times 7?", gold="42", models=("fake/elastic",), budgets=(10, 25, 50))
    rec = Recorder.start("sweep", "half a sweep", config.to_dict(), store=store)
    model = scripted_model("elastic")
    model.max_concurrency = 1
    run_sweep(config, {"fake/elastic": model}, sink=rec.sink, skip={"fake/elastic|10|0", "fake/elastic|25|0"})
    rec.finish("interrupted", {})
    at = new_app(PAGE, query={"experiment": rec.id})
    no_exception(at)
    button(at, "Resume").click().run()
    no_exception(at)
    assert at.title[0].value == "Elasticity sweep"
    registry().wait(rec.id, 60)
    d = store.get_experiment(rec.id)
    planned = sorted(k.id for k in plan_cells(config))
    assert d.status == "done" and sorted(c.cell_id for c in d.calls if c.ok) == planned  # each cell once
    assert not [e for e in store.list_experiments() if e.parent_id == rec.id]  # no new experiment


def test_a_sweep_running_in_another_process_is_drawn_from_the_database(fake_env):
    from db.recorder import Recorder
    from tale_core.experiments.sweep import SweepConfig, run_sweep
    from tale_core.providers.scripted import scripted_model

    store = services.get_store()
    config = SweepConfig(question="What is 6 times 7?", gold="42", models=("fake/elastic",), budgets=(10, 25, 50))
    rec = Recorder.start("sweep", "elsewhere", config.to_dict(), store=store)  # not in this process's jobs
    run_sweep(config, {"fake/elastic": scripted_model("elastic")}, sink=rec.sink, skip={"fake/elastic|10|0"})
    at = new_app("pages/sweep.py", query={"experiment": rec.id})
    no_exception(at)
    bars = [e.proto.text for e in at.get("progress")]
    assert any(t.startswith("Running: 3 of 4 cells") for t in bars), bars
    rec.finish("done", {})
    at.run()  # the next redraw reads the new status from the database
    assert any(e.proto.text.startswith("Finished: 3 of 4 cells") for e in at.get("progress"))
