"""The method registry, the few-shot methods and the prompt styles."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tale_core.engine import prompts
from tale_core.engine.method_registry import MethodError, all_methods, get_method, register_method
from tale_core.engine.methods import MethodSpec, build_messages, params_for, run_method
from tale_core.errors import TaleError
from tale_core.protocols import MemoryCache
from tale_core.providers.base import ChatModel, OnText
from tale_core.providers.scripted import scripted_model
from tale_core.types import Completion, GenParams, Message

Q = "Peyton has 3 apples and buys 5 more. How many apples?"


class Replying(ChatModel):
    """Answers every call with ``reply`` and keeps the messages it was sent."""

    provider, model = "fake", "replying"

    def __init__(self, reply: str):
        self.reply = reply
        self.sent: list[list[Message]] = []

    def complete(self, messages: Sequence[Message], params: GenParams, on_text: OnText | None = None) -> Completion:
        self.sent.append(list(messages))
        return Completion(self.reply, self.provider, self.model, input_tokens=10, output_tokens=len(self.reply.split()))


def test_every_method_is_one_registry_entry_with_what_the_pages_need():
    keys = [m.key for m in all_methods()]
    assert len(keys) == len(set(keys))
    for m in all_methods():
        spec = MethodSpec.of(m.key, m.arg.default if m.arg else None)
        assert MethodSpec.parse(spec.to_str()) == spec
        assert spec.label and spec.method is m
        # TALE-EP estimates its budget, TALE (learned budget) gets it from an estimator: both pass it in
        msgs = build_messages(spec, Q, budget=50 if m.estimates_budget or m.budget_from else None)
        assert msgs[-1].role == "user" and Q in msgs[-1].content
    assert get_method("thinking").requires == "thinking_budget" and get_method("effort").requires == "effort"
    assert get_method("vanilla").requires is None and get_method("tale-ep").calls == 2


def test_aliases_and_labels_say_zero_or_few_shot():
    assert MethodSpec.parse("chain-of-draft") == MethodSpec("cod") and MethodSpec("chain-of-draft").key == "cod"
    labels = {m.key: m.label for m in all_methods()}
    assert labels["cod"] == "Chain of Draft (zero-shot)" and labels["cod-fewshot"] == "Chain of Draft (few-shot)"
    assert labels["concise"] == "Concise CoT (zero-shot)" and labels["concise-fewshot"] == "Concise CoT (few-shot)"


def test_params_tweaks_come_from_the_entry():
    base = GenParams(max_tokens=100)
    assert params_for(MethodSpec.parse("thinking:2048"), base).thinking_budget == 2048
    assert params_for(MethodSpec.parse("effort:high"), base).reasoning_effort == "high"
    assert params_for(MethodSpec.parse("cod-fewshot"), base) == base


@pytest.mark.parametrize("key,instruction", [("cod-fewshot", "minimum draft"), ("concise-fewshot", "Be concise")])
def test_few_shot_methods_put_worked_examples_in_the_system_prompt(key, instruction):
    zero = build_messages(MethodSpec(key.removesuffix("-fewshot")), Q)
    few = build_messages(MethodSpec(key), Q)
    assert few[1] == zero[1]  # the user turn is the zero-shot prompt: only the examples differ
    system = few[0].content
    assert system.startswith(prompts.SYSTEM) and instruction in system and "Worked examples" in system
    assert system.count("\nQ: ") >= 2 and "[[19]]" in system  # paper style: examples answer in TALE's format
    plain = build_messages(MethodSpec(key), Q, style="plain")[0].content
    assert "[[" not in plain and "19" in plain
    mc = build_messages(MethodSpec(key), "Which?\nA. x\nB. y", multiple_choice=True)[0].content
    assert "A. 7\nB. 12" in mc and "[[B]]" in mc


def test_few_shot_methods_run_and_are_graded():
    r = run_method(scripted_model("elastic"), "cod-fewshot", Q, gold="42")
    assert r.status == "correct" and r.records[0].method == "cod-fewshot"
    assert r.records[0].completion.request["kind"] == "draft"
    c = run_method(scripted_model("elastic"), "concise-fewshot", Q, gold="42")
    assert c.status == "correct" and c.records[0].completion.request["kind"] == "concise"


def test_plain_style_is_the_small_model_prompt_and_is_recorded():
    msgs = build_messages(MethodSpec("budget", 20), Q, style="plain")
    assert msgs[1].content == f"Q: {Q}\nLet's think step by step and use less than 20 tokens:\n"
    assert build_messages(MethodSpec("vanilla"), Q, style="plain")[1].content == f"Q: {Q}\nLet's think step by step:\n"
    assert "[[" not in build_messages(MethodSpec("direct"), Q, style="plain")[1].content
    m = Replying("She had 3 and bought 5, so 3 + 5 = 8 apples.")
    r = run_method(m, "budget:20", Q, gold="8", prompt_style="plain")
    assert r.status == "correct" and r.extracted == "8"  # graded by the last number
    assert r.records[0].extra["prompt_style"] == "plain"
    assert "[[answer]]" not in m.sent[0][1].content


def test_prompt_style_is_part_of_the_cache_key_and_checked():
    cache, m = MemoryCache(), scripted_model("elastic")
    paper = run_method(m, "budget:50", Q, cache=cache)
    plain = run_method(m, "budget:50", Q, cache=cache, prompt_style="plain")
    again = run_method(m, "budget:50", Q, cache=cache, prompt_style="plain")
    assert paper.records[0].cache_key != plain.records[0].cache_key
    assert not plain.cache_hit and again.cache_hit and m.calls == 2
    assert paper.records[0].extra["prompt_style"] == "paper"
    with pytest.raises(TaleError, match="prompt style"):
        run_method(m, "vanilla", Q, prompt_style="fancy")


def test_tale_ep_estimate_keeps_its_format_line_in_plain_style():
    m = scripted_model("elastic")
    r = run_method(m, "tale-ep", Q, gold="42", prompt_style="plain")
    assert "[[budget]]" in r.records[0].messages[1].content
    assert r.records[1].messages[1].content.endswith("use less than 60 tokens:\n")
    assert "[[answer]]" not in r.records[1].messages[1].content
    assert all(rec.extra["prompt_style"] == "plain" for rec in r.records)


def test_a_registered_method_runs_end_to_end(extra_method):
    spec = MethodSpec.parse("shout:2")
    assert spec.label == "Shouted CoT x2" and spec.to_str() == "shout:2"
    r = run_method(scripted_model("elastic"), spec, Q, params=GenParams(max_tokens=100))
    assert Q.upper() in r.records[0].messages[1].content and r.records[0].params.max_tokens == 102
    with pytest.raises(MethodError, match="shout level"):
        MethodSpec("shout")
    with pytest.raises(ValueError, match="already registered"):
        register_method(extra_method)


def test_sweepable_methods_are_those_with_a_number(extra_method):
    from tale_core.engine.method_registry import sweepable_methods

    keys = [m.key for m in sweepable_methods()]
    assert keys[:3] == ["budget", "constrained", "thinking"] and "shout" in keys and "effort" not in keys
