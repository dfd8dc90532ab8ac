"""Benchmark page: samples / upload / path sources, background run, paper-style table, CSV, reopen."""

from __future__ import annotations

import json

from tests.helpers_app import button, captions, chart_specs, errors, new_app, no_exception
from ui.jobs import registry

PAGE = "pages/benchmark.py"


def start_and_finish(at):
    button(at, "Start benchmark").click().run()
    no_exception(at)
    job_id = at.query_params["experiment"]
    job_id = job_id[0] if isinstance(job_id, list) else job_id
    job = registry().wait(job_id, timeout_s=60)
    assert job is not None and not job.running
    at.run()
    no_exception(at)
    return job


def summary_table(at):
    return at.dataframe[0].value


def test_samples_benchmark_gives_a_paper_style_table(fake_env):
    at = new_app(PAGE)
    no_exception(at)
    at.number_input(key="bm_n").set_value(4).run()
    job = start_and_finish(at)
    assert job.status == "done" and job.done == 12  # 4 questions x 3 methods
    table = summary_table(at)
    assert list(table["Method"]) == ["Direct answer", "Vanilla CoT", "TALE-EP"]
    assert list(table["Answer tokens (mean)"]) == [15.0, 258.0, 92.0]  # answer call only, as the paper
    assert list(table["Estimator tokens (mean)"]) == [0.0, 0.0, 2.0]
    assert list(table["Total tokens, both calls (mean)"]) == [15.0, 258.0, 94.0]
    assert list(table["Paper output tokens"]) == [14.57, 461.25, 148.72]  # paper's average row
    assert list(table["Tokens vs vanilla"]) == ["-94%", "reference", "-64%"]
    assert table["McNemar p"].isna()[1] and " – " in table["Accuracy 95% CI"][0]
    # the comparison sits right after the numbers it compares, before the paper's columns (visible at 1400 px)
    assert list(table.columns).index("Tokens vs vanilla") == 4
    assert list(table.columns).index("Paper accuracy (%)") > list(table.columns).index("Errors")
    labels = [b.proto.label for b in at.get("download_button")]
    assert {"Summary as Markdown", "Summary as LaTeX", "Download summary with intervals (CSV)"} <= set(labels), labels
    assert "vanilla CoT vs TALE-EP" in chart_specs(at)[0]["layout"]["title"]["text"]


def test_stored_benchmark_reopens_with_the_same_table(fake_env):
    at = new_app(PAGE)
    at.number_input(key="bm_n").set_value(3).run()
    job = start_and_finish(at)
    before = summary_table(at)
    registry()._jobs.pop(job.id)
    other = new_app(PAGE, query={"experiment": job.id})
    no_exception(other)
    after = summary_table(other)
    assert list(after["Answer tokens (mean)"]) == list(before["Answer tokens (mean)"])
    assert list(after["Accuracy (%)"]) == list(before["Accuracy (%)"])


def test_uploaded_file_with_problems_lists_them(fake_env):
    at = new_app(PAGE)
    at.radio(key="bm_source").set_value("Upload a file").run()
    bad = b'{"question": "1+1?", "answer": 2}\n{"question": "", "answer": 3}\nnot json\n'
    at.file_uploader(key="bm_upload").upload("bad.jsonl", bad).run()
    no_exception(at)
    msg = " ".join(errors(at))
    assert "nothing was loaded" in msg and "line 2" in msg and "line 3" in msg


def test_uploaded_file_runs_and_is_kept_for_reruns(fake_env):
    at = new_app(PAGE)
    at.radio(key="bm_source").set_value("Upload a file").run()
    good = "".join(
        json.dumps({"id": f"q{i}", "question": f"What is {i} plus 40?", "answer": str(i + 40)}) + "\n" for i in range(3)
    ).encode()
    at.file_uploader(key="bm_upload").upload("mine.jsonl", good).run()
    assert "mine: 3 question(s)" in " ".join(captions(at))
    job = start_and_finish(at)
    assert job.config["dataset"]["source"] == "stored"
    assert job.done == 9


def test_missing_path_is_explained(fake_env):
    at = new_app(PAGE)
    at.radio(key="bm_source").set_value("File on the server").run()
    at.text_input(key="bm_path").input("no/such/file.jsonl").run()
    no_exception(at)
    assert errors(at)


def test_gsm8k_from_a_path(fake_env, gsm8k_path, monkeypatch):
    monkeypatch.setenv("TALE_SERVER_FILES_DIR", str(gsm8k_path.parent))  # the folder the host allows
    at = new_app(PAGE)
    at.radio(key="bm_source").set_value("File on the server").run()
    at.text_input(key="bm_path").input(gsm8k_path.name).run()
    no_exception(at)
    assert "1,319 question(s)" in " ".join(captions(at)) or "1319 question(s)" in " ".join(captions(at))
    at.number_input(key="bm_n").set_value(2).run()
    at.session_state["bm_methods"] = ["vanilla"]
    at.run()
    job = start_and_finish(at)
    assert job.done == 2
    assert list(summary_table(at)["Paper output tokens"]) == [318.10]  # the paper's GSM8K row


def test_summary_csv_keeps_the_labelled_columns():
    import csv
    import io

    from ui.bench_view import summary_csv, table_rows

    rows = [
        {
            "spec": "m",
            "item_id": str(i),
            "method": m,
            "status": "correct",
            "output_tokens": t,
            "answer_output_tokens": t,
        }
        for i in range(5)
        for m, t in (("vanilla", 200 + i), ("tale-ep", 50 + i))
    ]
    table, _ = table_rows(rows, "gsm8k")
    parsed = list(csv.DictReader(io.StringIO(summary_csv(table))))
    assert [r["Method"] for r in parsed] == ["vanilla", "tale-ep"]
    assert {"Accuracy 95% CI", "Answer tokens (mean)", "Total tokens, both calls (mean)", "McNemar p"} <= set(parsed[0])
    assert parsed[1]["McNemar p"] == "1.000" and parsed[1]["Tokens vs vanilla"] == "-74%"  # 1 - 52 / 202


def test_per_question_chart_data_averages_repeats():
    from ui.bench_view import per_question

    rows = [
        {
            "spec": "m",
            "item_id": "1",
            "method": "vanilla",
            "status": "correct",
            "answer_output_tokens": 100,
            "correct": True,
        },
        {
            "spec": "m",
            "item_id": "1",
            "method": "vanilla",
            "status": "wrong",
            "answer_output_tokens": 200,
            "correct": False,
        },
        {
            "spec": "m",
            "item_id": "1",
            "method": "tale-ep",
            "status": "correct",
            "output_tokens": 52,
            "answer_output_tokens": 50,
            "correct": True,
        },
        {
            "spec": "m",
            "item_id": "1",
            "method": "tale-ep",
            "status": "error",
            "answer_output_tokens": 0,
            "correct": None,
        },
    ]
    # tokens: mean over trials (answer call only); correct: most trials (a 1-1 tie is not)
    assert per_question(rows, "m") == [
        {
            "question_id": "1",
            "vanilla_tokens": 150.0,
            "vanilla_correct": False,
            "tale_tokens": 50.0,
            "tale_correct": True,
        }
    ]
