"""Hostile text for the injection tests: a bundle and links whose every user-visible field is markdown or
HTML that would make a browser fetch an image from outside loopback if rendered as markup."""

from __future__ import annotations

import json
import re
from typing import Any

from db.bundle import export_experiment
from db.recorder import Recorder
from db.store import Store
from tale_core.experiments.sweep import SweepConfig, run_sweep
from tale_core.providers.scripted import scripted_model


def evil(tag: str) -> str:
    """Markdown image + raw HTML image, both pointing off loopback."""
    return f"![{tag}](http://evil.test/{tag}.png)<img src='http://evil.test/{tag}h.png'>"


EVIL_LINK_ID = "![x](http://evil.test/link.png)"

#: markdown link/image syntax or an HTML tag that is not backslash-escaped
_LIVE_MARKUP = re.compile(r"(?<!\\)\]\((?:https?:)?//|(?<!\\)<(?:img|a|script|iframe)\b", re.IGNORECASE)


def live_markup(text: str) -> list[str]:
    """The spans of ``text`` a markdown renderer would turn into a link, an image or an HTML element."""
    return [m.group(0) for m in _LIVE_MARKUP.finditer(text)]


def hostile_bundle(store: Store) -> bytes:
    """A real sweep (scripted model), exported, with every text a bundle may carry made hostile."""
    config = SweepConfig(
        question=f"What is 6 * 7? {evil('question')}", gold="42", models=("fake/elastic",), budgets=(10, 50)
    )
    rec = Recorder.start("sweep", "plain", config.to_dict(), store=store)
    run_sweep(config, {"fake/elastic": scripted_model("elastic")}, sink=rec.sink)
    rec.finish("done", {})
    doc: dict[str, Any] = export_experiment(rec.id, store)
    e = doc["experiment"]
    e["title"] = "Sweep " + evil("title")
    e["notes"] = evil("notes")
    e["price_table"] = "![p](http://evil.test/price.png)"
    e["app_version"] = "![v](http://evil.test/v.png)"
    e["config"]["gold"] = evil("gold")
    e["config"]["models"] = ["fake/" + evil("cfgmodel")]
    e["config"]["method"] = evil("method")
    for c in doc["calls"]:
        c["spec"] = "fake/" + evil("spec")
        c["model"] = evil("model")
        c["gold"] = evil("gold")
        c["extracted_answer"] = evil("answer")
        c["response"] = evil("response")
    return json.dumps(doc).encode("utf-8")
