"""Benchmark page, Table 3 preset: the paper's datasets from the server, one line per dataset beside the
paper's row; and official MathBench file names compared with the MathBench row, not the average."""

from __future__ import annotations

from pathlib import Path

from tests.helpers_app import button, new_app, no_exception
from tests.test_app_benchmark import PAGE, start_and_finish

FIX = Path(__file__).parent / "fixtures" / "table3"


def test_table3_preset_shows_per_dataset_rows_beside_the_papers(fake_env, monkeypatch):
    monkeypatch.setenv("TALE_SERVER_FILES_DIR", str(FIX))  # the preset reads only inside the data folder
    at = new_app(PAGE)
    at.radio(key="bm_source").set_value("Table 3 preset (paper's datasets)").run()
    at.text_input(key="bm_t3_gsm8k").input("gsm8k.jsonl").run()
    at.text_input(key="bm_t3_mathbench").input("mathbench_v1").run()
    at.number_input(key="bm_t3_n").set_value(1).run()
    no_exception(at)
    assert button(at, "Start benchmark") is not None
    job = start_and_finish(at)
    assert job.status == "done" and job.done == 6 * 3  # GSM8K + five MathBench subsets, one question each
    t3 = at.dataframe[0].value
    mid = t3[(t3["Dataset"] == "MathBench-Middle") & (t3["Method"] == "vanilla")]
    assert list(mid["Paper accuracy (%)"]) == [84.67] and list(mid["Paper output tokens"]) == [553.93]
    gsm = t3[(t3["Dataset"] == "GSM8K") & (t3["Method"] == "tale-ep")]
    assert list(gsm["Paper output tokens"]) == [77.26]
    assert list(gsm["Answer-call tokens (mean)"]) != list(gsm["Total tokens, both calls (mean)"])
    avg = t3[(t3["Dataset"] == "average") & (t3["Method"] == "vanilla")]
    assert list(avg["Paper output tokens"]) == [461.25] and "MathBench-Primary" not in list(avg["Averaged over"])[0]
    assert all(v != "-" for v in t3[t3["Dataset"] != "average"]["95% interval"])
    # reopened from the store: the same per-dataset table
    from ui.jobs import registry

    registry()._jobs.pop(job.id)
    again = new_app(PAGE, query={"experiment": job.id})
    no_exception(again)
    t3b = again.dataframe[0].value
    assert list(t3b["Dataset"]) == list(t3["Dataset"])
    assert list(t3b["Answer-call tokens (mean)"]) == list(t3["Answer-call tokens (mean)"])


def test_table3_preset_reads_only_inside_the_data_folder(fake_env, monkeypatch, tmp_path):
    monkeypatch.setenv("TALE_SERVER_FILES_DIR", str(tmp_path))
    at = new_app(PAGE)
    at.radio(key="bm_source").set_value("Table 3 preset (paper's datasets)").run()
    at.text_input(key="bm_t3_mathbench").input(str(FIX / "mathbench_v1")).run()
    no_exception(at)
    from tests.helpers_app import errors

    assert "only folders inside the app's data folder" in " ".join(errors(at))
    assert str(FIX) not in " ".join(errors(at))


def test_official_mathbench_file_from_a_path_uses_the_mathbench_row(fake_env, monkeypatch):
    monkeypatch.setenv("TALE_SERVER_FILES_DIR", str(FIX))
    at = new_app(PAGE)
    at.radio(key="bm_source").set_value("File on the server").run()
    at.text_input(key="bm_path").input("mathbench_v1/high/single_choice_en.jsonl").run()
    no_exception(at)
    at.number_input(key="bm_n").set_value(1).run()
    at.session_state["bm_methods"] = ["vanilla"]
    at.run()
    start_and_finish(at)
    assert list(at.dataframe[0].value["Paper output tokens"]) == [653.24]  # MathBench-High, not the average
