"""Datasets: formats, field mapping, all-or-nothing validation, the bundled samples, GSM8K."""

from __future__ import annotations

import io
import json
from fractions import Fraction as F
from pathlib import Path

import pytest

from tale_core.data.datasets import ColumnMapping, Dataset, DatasetError, Item, Problem, load_dataset, load_samples
from tale_core.errors import TaleError
from tale_core.scoring.grading import grade

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parent.parent
GSM8K = REPO.parent / "shared" / "data" / "gsm8k_test.jsonl"


def problems_of(src, **kw) -> list[Problem]:
    with pytest.raises(DatasetError) as info:
        load_dataset(src, **kw)
    err = info.value
    assert isinstance(err, TaleError)
    assert err.problems, "a DatasetError must list its problems"
    text = str(err)
    assert "nothing was loaded" in text and "Traceback" not in text
    return err.problems


# ---------------------------------------------------------------------------------------------------
# Bundled samples

# Every sample answer recomputed here, independently of the file.
SAMPLE_CHECKS = {
    "peyton": 1 + 9 + F(1, 2) + F(9, 2) + 2,
    "bakery": 4 * 3 + 6 * F(3, 2),
    "buses": 5,  # 4 buses carry 192 < 200
    "jacket-sale": 80 * F(3, 4),
    "reading": F(342, 18),
    "train": 72 * F(9, 4),
    "pizza": F(3, 4) * F(2, 3),
    "garden-path": 14 * 9 - 12 * 7,
    "weekend-job": 150 - 30,
    "pancakes": 35 // 5 * 2,
    "movie": (7 * 60 + 45 + 155) - 9 * 60,
    "notebook-price": 25,
    "savings": F(120, 12),
    "water-tank": 600 * F(6, 10),
    "class-boys": 28 * F(3, 7),
    "laps": F(5 * 400 * 7, 1000),
    "pencils": F(6, 24),
    "change": 50 - 3 * F(1450, 100),
    "fuel": F(6 * 350, 100),
    "apples": 120 - 54 - 18,
    "temperature": -4 + 11 - 9,
    "phone-bill": 20 + F(250, 10),
    "ages": 15,  # 15 + 11 = 26, 15 - 11 = 4
    "rope": F(96, 40),
    "library": 1250 + 255 - 140,
    "cyclist": F(18, 45) * 120,
    "juice": F(420, 6) * 15 / 100,
    "pocket-money": 60,  # 60 -> 45 after the book -> 30 after lunch
    "cans": 345 + 278 + 556,
    "printer": F(40 * 60, 15),
    "rectangle": 15 * 10,
    "groceries": 30 + F(42, 10),
    "course": 11,  # 5 weekdays x 3 + 2 weekend days x 5 = 25 in week one; 28, 31, 34, 37
    "markup": 40 * F(3, 2) * F(4, 5),
    "tip": F(57 * 12, 10) / 3,
}


def test_load_samples() -> None:
    ds = load_samples()
    assert isinstance(ds, Dataset) and ds.kind == "numeric"
    assert len(ds) >= 30
    first = ds.items[0]
    assert first.id == "peyton" and first.answer == "17"
    assert first.question.startswith("Peyton scheduled after-work activities of a one hour yoga class")
    assert all(it.meta.get("topic") for it in ds)
    assert sum(1 for it in ds if "." in it.answer) >= 3, "a few decimal answers"


def test_every_sample_answer_was_recomputed() -> None:
    ds = load_samples()
    assert {it.id for it in ds} == set(SAMPLE_CHECKS)
    for it in ds:
        assert F(it.answer) == F(SAMPLE_CHECKS[it.id]), it.id


@pytest.mark.parametrize("which", ["numeric", "multiple_choice"])
def test_each_sample_grades_correct_against_itself(which: str) -> None:
    ds = load_samples(which)
    for it in ds:
        g = grade(f"Let's see. Answer: [[{it.answer}]]", it.answer, multiple_choice=it.multiple_choice)
        assert g.status == "correct", (it.id, g)


def test_multiple_choice_samples() -> None:
    ds = load_samples("multiple_choice")
    assert ds.kind == "multiple_choice" and len(ds) >= 8
    for it in ds:
        assert it.answer in "ABCDE"[: len(it.choices)]
    text = ds.items[0].question_text()
    assert text.splitlines()[1:] == [f"{'ABCDE'[i]}. {c}" for i, c in enumerate(ds.items[0].choices)]
    both = load_samples("all")
    assert both.kind == "mixed" and len(both) == len(load_samples()) + len(ds)
    assert len({it.id for it in both}) == len(both)


def test_samples_are_package_data() -> None:
    from importlib import resources

    names = {p.name for p in resources.files("tale_core.data").iterdir()}
    assert {"samples.jsonl", "samples_mc.jsonl", "__init__.py"} <= names


# ---------------------------------------------------------------------------------------------------
# GSM8K


@pytest.mark.skipif(not GSM8K.exists(), reason="GSM8K test file not present next to the repository")
def test_gsm8k_file() -> None:
    ds = load_dataset(GSM8K)
    assert len(ds) == 1319 and ds.kind == "numeric"
    first = ds.items[0]
    assert first.answer == "18" and first.id == "line-1"
    assert first.question.startswith("Janet")
    assert "####" not in first.meta["solution"] and first.meta["solution"].endswith("farmer\u2019s market.")
    assert all(it.answer and "," not in it.answer for it in ds)


def test_gsm8k_style_answers() -> None:
    ds = load_dataset(DATA / "good_gsm8k_style.jsonl")
    assert [it.answer for it in ds] == ["1234", "18"]
    assert ds.items[0].meta["solution"].startswith("It sold 1,000 + 234")
    assert [it.id for it in ds] == ["line-1", "line-2"]


# ---------------------------------------------------------------------------------------------------
# Good files


def test_simple_jsonl_with_ids_floats_and_meta() -> None:
    ds = load_dataset(DATA / "good_simple.jsonl")
    assert ds.name == "good_simple" and ds.source == "good_simple.jsonl" and ds.format == "jsonl"
    assert [it.id for it in ds] == ["q1", "q2", "3", "q4"]
    assert [it.answer for it in ds] == ["5.5", "56", "-3", "0.5"]
    assert ds.items[0].meta == {"topic": "money"}
    assert ds.items[3].meta == {"source": "handmade", "answer_text": "$0.50"}
    assert ds.by_id("q2").question == "How many legs do 7 spiders have?"


def test_json_multiple_choice_forms() -> None:
    ds = load_dataset(DATA / "good_mc.json")
    assert ds.kind == "multiple_choice" and ds.format == "json"
    assert [it.answer for it in ds] == ["B", "B", "C"]
    assert ds.items[0].choices == ("3", "4", "5")
    assert ds.items[0].question_text() == "What is 2 + 2?\nA. 3\nB. 4\nC. 5"


def test_json_list_and_mixed_kind() -> None:
    doc = [{"question": "2+2?", "answer": 4}, {"question": "Pick B", "choices": ["x", "y"], "answer": "B"}]
    ds = load_dataset(json.dumps(doc).encode(), name="mine.json")
    assert ds.kind == "mixed" and ds.name == "mine" and [it.id for it in ds] == ["line-1", "line-2"]


def test_csv_quoted_and_multiline() -> None:
    ds = load_dataset(DATA / "good.csv")
    assert ds.format == "csv" and [it.id for it in ds] == ["c1", "c2", "c3"]
    assert ds.items[0].question == "How many days are in 2 weeks, exactly?"
    assert ds.items[1].question == "A line\nthat continues: what is 5 x 5?"
    assert [it.answer for it in ds] == ["14", "25", "2.5"]
    assert ds.items[2].meta == {"topic": "fractions"}


def test_csv_letter_columns() -> None:
    ds = load_dataset(DATA / "good_mc_letters.csv")
    assert ds.kind == "multiple_choice"
    assert ds.items[0].choices == ("7", "12", "34", "1") and ds.items[0].answer == "B"
    assert [it.id for it in ds] == ["line-2", "line-3"]  # the header is line 1


def test_column_mapping() -> None:
    ds = load_dataset(DATA / "mapped.csv", mapping=ColumnMapping(question="problem", answer="solution"))
    assert [(it.question, it.answer) for it in ds] == [("What is 6 x 7?", "42"), ("What is 100 / 8?", "12.5")]
    # no gold at all: loads, ungraded
    ds = load_dataset(b'{"q": "Why?"}\n', fmt="jsonl", mapping=ColumnMapping(question="q", answer=None))
    assert ds.items[0].answer is None
    assert load_dataset(ds.to_jsonl().encode(), fmt="jsonl").items == ds.items


def test_mapping_with_choices_and_id_columns() -> None:
    rows = [{"key": "a1", "text": "Pick the odd one", "opts": "2|3|4", "gold": "B"}]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    ds = load_dataset(
        data, fmt="jsonl", mapping=ColumnMapping(question="text", answer="gold", choices="opts", id="key")
    )
    assert ds.items[0] == Item("a1", "Pick the odd one", "B", ("2", "3", "4"))


def test_auto_detected_names_and_boxed_solution() -> None:
    data = b'{"problem": "What is 2^3?", "solution": "We have 2^3 = 8, so \\\\boxed{8}."}\n'
    ds = load_dataset(data, fmt="jsonl")
    assert ds.items[0].answer == "8" and "boxed" in ds.items[0].meta["solution"]


def test_bom_crlf_and_file_like_upload() -> None:
    data = "\ufeffquestion,answer\r\nWhat is 9 + 1?,10\r\n".encode("utf-8")
    ds = load_dataset(io.BytesIO(data), name="upload.csv")
    assert ds.items[0].question == "What is 9 + 1?" and ds.items[0].answer == "10"

    class Upload(io.BytesIO):
        name = "from-browser.jsonl"

    ds = load_dataset(Upload(b'{"question": "1+1?", "answer": 2}\n'))
    assert ds.name == "from-browser" and ds.source == "from-browser.jsonl"


def test_content_sniffing_without_a_name() -> None:
    assert load_dataset(b'[{"question": "a?", "answer": 1}]').format == "json"
    assert load_dataset(b'{"question": "a?", "answer": 1}\n{"question": "b?", "answer": 2}').format == "jsonl"
    assert load_dataset(b"question;answer\nWhat?;1\n").format == "csv"
    assert load_dataset(b"question\tanswer\nWhat?\t1\n", fmt="tsv").items[0].answer == "1"


def test_jsonl_saved_as_json() -> None:
    ds = load_dataset(b'{"question": "a?", "answer": 1}\n{"question": "b?", "answer": 2}\n', name="x.json")
    assert len(ds) == 2 and ds.format == "jsonl"


def test_round_trip_through_to_jsonl() -> None:
    for ds in (load_samples("all"), load_dataset(DATA / "good_gsm8k_style.jsonl"), load_dataset(DATA / "good.csv")):
        again = load_dataset(ds.to_jsonl().encode(), fmt="jsonl")
        assert again.items == ds.items
        assert [it.meta for it in again] == [it.meta for it in ds]


# ---------------------------------------------------------------------------------------------------
# Bad files: clear problems with line numbers, nothing loaded


def test_empty_file() -> None:
    [p] = problems_of(DATA / "empty.jsonl")
    assert "empty" in p.message
    [p] = problems_of(b"  \n\n ")
    assert "empty" in p.message


def test_binary_file() -> None:
    [p] = problems_of(DATA / "binary.bin")
    assert "binary" in p.message
    [p] = problems_of(b"PK\x03\x04rest of a workbook", name="book.xlsx")
    assert "Excel" in p.message and "CSV" in p.message
    [p] = problems_of("question,answer\n".encode("utf-16"))
    assert "UTF-16" in p.message


def test_malformed_json_on_line_3() -> None:
    [p] = problems_of(DATA / "bad_json_line3.jsonl")
    assert p.line == 3 and "not valid JSON" in p.message


def test_missing_and_empty_fields_and_duplicates_reported_together() -> None:
    problems = problems_of(DATA / "bad_fields.jsonl")
    found = {(p.line, p.field) for p in problems}
    assert found == {(2, "question"), (3, "question"), (4, "answer"), (6, "id")}
    by_line = {p.line: p.message for p in problems}
    assert "missing 'question'" in by_line[2]
    assert "empty question" in by_line[3]
    assert "missing 'answer'" in by_line[4]
    assert "duplicate id 'x'" in by_line[6] and "line 5" in by_line[6]


def test_error_text_lists_the_first_problems() -> None:
    with pytest.raises(DatasetError) as info:
        load_dataset(DATA / "bad_fields.jsonl")
    text = str(info.value)
    assert text.startswith("Could not load bad_fields.jsonl: 4 problems, nothing was loaded.")
    assert "  - line 2, field 'question': missing 'question' field" in text


def test_many_problems_are_capped_in_the_message() -> None:
    data = b"".join(b'{"answer": 1}\n' for _ in range(500))
    with pytest.raises(DatasetError) as info:
        load_dataset(data, fmt="jsonl")
    err = info.value
    assert len(err.problems) + err.more == 500
    assert "... and 490 more" in str(err) and len(str(err).splitlines()) == 12


def test_csv_without_question_column() -> None:
    [p] = problems_of(DATA / "no_question_column.csv")
    assert p.line == 1 and p.field == "question" and "task, answer" in p.message
    assert "ColumnMapping" in p.message


def test_csv_mapping_to_missing_answer_column() -> None:
    [p] = problems_of(DATA / "mapped.csv", mapping=ColumnMapping(question="problem", answer="final"))
    assert p.line == 1 and p.field == "final"


def test_csv_row_with_wrong_field_count() -> None:
    problems = problems_of(b"question,answer\nWhat?,1\nOops,2,3\nFine?,4\n", fmt="csv")
    assert [(p.line, "3 fields" in p.message) for p in problems] == [(3, True)]


def test_oversized() -> None:
    [p] = problems_of(DATA / "good.csv", max_bytes=50)
    assert "limit" in p.message
    [p] = problems_of(b"x" * 100, max_bytes=10)
    assert "limit" in p.message


def test_too_many_items() -> None:
    data = b"".join(b'{"question": "q%d?", "answer": 1}\n' % i for i in range(5))
    [p] = problems_of(data, fmt="jsonl", max_items=3)
    assert p.line == 4 and "limit is 3" in p.message
    [p] = problems_of(b'[{"question": "a", "answer": 1}, {"question": "b", "answer": 1}]', max_items=1)
    assert "limit is 1" in p.message


def test_latin1_bytes() -> None:
    [p] = problems_of(DATA / "latin1.csv")
    assert p.line == 3 and "UTF-8" in p.message and "0xE9" in p.message


def test_missing_file_and_folder() -> None:
    [p] = problems_of(DATA / "no-such-file.jsonl")
    assert "not found" in p.message and str(DATA) not in p.message
    [p] = problems_of(DATA)
    assert "folder" in p.message


@pytest.mark.parametrize(
    "line, fragment",
    [
        ('{"question": 5, "answer": 1}', "must be text"),
        ('{"question": "q", "answer": [1]}', "text or a number"),
        ('{"question": "q", "answer": true}', "text or a number"),
        ('{"question": "q", "answer": ""}', "answer is empty"),
        ('{"question": "q", "answer": null}', "answer is empty"),
        ('{"question": "q", "answer": "steps ####"}', "nothing after '####'"),
        ('{"question": "q", "answer": NaN}', "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"question": "q", "choices": ["a"], "answer": "A"}', "2 to 10 options"),
        ('{"question": "q", "choices": ["a", "b"], "answer": "C"}', "only 2 options"),
        ('{"question": "q", "choices": ["a", "b"], "answer": "zebra"}', "nor the text"),
        ('{"question": "q", "choices": ["a", "b"], "answer": 5}', "outside"),
        ('{"question": "q", "choices": {"A": "a", "C": "c"}, "answer": "A"}', "letters A, B"),
        ('{"question": "q", "choices": ["a", ""], "answer": "A"}', "option B is empty"),
        ('{"question": "q", "choices": "a b c", "answer": "A"}', "separated by |"),
        ('{"id": "", "question": "q", "answer": 1}', "id must be"),
    ],
)
def test_bad_records(line: str, fragment: str) -> None:
    good = '{"question": "fine?", "answer": 1}\n'
    problems = problems_of((good + line + "\n").encode(), fmt="jsonl")
    assert len(problems) == 1 and problems[0].line == 2, problems
    assert fragment in problems[0].message, problems[0].message


def test_bad_json_document_and_shapes() -> None:
    [p] = problems_of(b'[{"question": "a", "answer": 1},\n {"question": "b" "answer": 2}]', fmt="json")
    assert p.line == 2 and "not valid JSON" in p.message
    [p] = problems_of(b'{"rows": []}', fmt="json")
    assert "list of objects" in p.message
    [p] = problems_of(b'[{"question": "a", "answer": 1}, 7]', fmt="json")
    assert p.line is None and p.message.startswith("item 2:")
    [p] = problems_of(b"[]", fmt="json")
    assert "no questions" in p.message


def test_unknown_format_and_input_type() -> None:
    [p] = problems_of(b"question,answer\nq,1\n", fmt="xml")
    assert "unknown format" in p.message
    [p] = problems_of(12345)
    assert "file path" in p.message


def test_nothing_is_evaluated() -> None:
    payload = b'{"question": "__import__(\'os\').system(\'echo hi\')", "answer": "__import__(\'os\')"}\n'
    ds = load_dataset(payload, fmt="jsonl")
    assert ds.items[0].question.startswith("__import__") and ds.items[0].answer.startswith("__import__")


def test_items_are_hashable_and_frozen() -> None:
    it = load_samples().items[0]
    assert hash(it) == hash(Item(it.id, it.question, it.answer))
    with pytest.raises(Exception):
        it.answer = "18"  # type: ignore[misc]


# --- Hugging Face layouts and the Table 3 files (tale_core.data.official) ------------------------------
def _hf_rows():
    return [
        {"question": "What is 3 + 4?", "answer": "3 + 4 = 7\n#### 7", "extra": 1},
        {"question": "Half of 3?", "answer": "#### 1.5", "extra": 2},
    ]


def _write_save_to_disk(folder, rows):
    """The layout ``datasets.Dataset.save_to_disk`` writes: arrow IPC *stream* files + state/info JSON."""
    import pyarrow as pa

    folder.mkdir(parents=True)
    table = pa.Table.from_pylist(rows)
    with pa.OSFile(str(folder / "data-00000-of-00001.arrow"), "wb") as sink:
        with pa.ipc.new_stream(sink, table.schema) as w:
            w.write_table(table)
    (folder / "state.json").write_text('{"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}')
    (folder / "dataset_info.json").write_text("{}")


def test_hf_save_to_disk_folder_and_dataset_dict(tmp_path):
    from tale_core.data.official import load_any, load_hf

    _write_save_to_disk(tmp_path / "one", _hf_rows())
    ds = load_hf(tmp_path / "one")
    assert [(it.question, it.answer) for it in ds.items] == [("What is 3 + 4?", "7"), ("Half of 3?", "1.5")]
    assert ds.items[0].meta["extra"] == 1
    # a DatasetDict: one folder per split, the test split by default
    root = tmp_path / "dd"
    _write_save_to_disk(root / "train", [{"question": "train q?", "answer": "1"}])
    _write_save_to_disk(root / "test", _hf_rows())
    (root / "dataset_dict.json").write_text('{"splits": ["train", "test"]}')
    assert len(load_any(root)) == 2
    assert [it.question for it in load_hf(root, split="train").items] == ["train q?"]
    with pytest.raises(DatasetError, match="choose a split: train, test"):
        load_hf(root, split="validation")


def test_hf_parquet_file_and_folder(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tale_core.data.official import load_any

    (tmp_path / "data").mkdir()
    pq.write_table(pa.Table.from_pylist(_hf_rows()), tmp_path / "data" / "test-00000-of-00001.parquet")
    assert [it.answer for it in load_any(tmp_path / "data" / "test-00000-of-00001.parquet").items] == ["7", "1.5"]
    assert len(load_any(tmp_path / "data")) == 2
    # a bad row is reported like in any other file
    pq.write_table(pa.Table.from_pylist([{"question": "", "answer": "1"}]), tmp_path / "bad.parquet")
    with pytest.raises(DatasetError, match="nothing was loaded"):
        load_any(tmp_path / "bad.parquet")


def test_hub_id_offline_is_a_clear_message_and_no_network(monkeypatch):
    import socket

    from tale_core.data import official

    def no_network(*a, **k):  # any connection attempt fails the test
        raise AssertionError("network used")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    import importlib.util

    if importlib.util.find_spec("datasets") is None:
        with pytest.raises(DatasetError, match="needs the `datasets` package") as e:
            official.load_any("openai/gsm8k")
    else:  # pragma: no cover - the package is not a requirement
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        with pytest.raises(DatasetError, match="switched off") as e:
            official.load_any("openai/gsm8k")
    assert "save_to_disk" in str(e.value)
    with pytest.raises(DatasetError, match="no such file or folder"):
        official.load_any("no/such/place/here.jsonl")


def test_table3_loaders_refuse_wrong_formats(tmp_path):
    from tale_core.data.official import load_gsm8k, load_mathbench

    plain = tmp_path / "plain.jsonl"
    plain.write_text('{"question": "1+1?", "answer": "2"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="do not end in '#### N'"):
        load_gsm8k(plain)
    (tmp_path / "mb" / "middle").mkdir(parents=True)
    (tmp_path / "mb" / "middle" / "single_choice_en.jsonl").write_text(
        '{"question": "2+2?", "answer": "4"}\n', encoding="utf-8"
    )
    with pytest.raises(DatasetError, match="single_choice items must have options"):
        load_mathbench(tmp_path / "mb")
    with pytest.raises(DatasetError, match="no MathBench files"):
        (tmp_path / "empty").mkdir()
        load_mathbench(tmp_path / "empty")
