"""The Budget estimators page on a stored dataset search (AppTest)."""

from __future__ import annotations

from db.recorder import Recorder
from tale_core.experiments.search import PAPER
from tale_core.experiments.search_dataset import search_dataset
from tests.helpers_app import button, new_app, no_exception
from tests.helpers_estimators import KnownOptimumModel, items

PAGE = "pages/estimators.py"


def _stored_search(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("TALE_DATA_DIR", str(tmp_path / "data"))
    model = KnownOptimumModel()
    with Recorder.start("search-dataset", "Budget search over 20 questions", {"model": model.spec}) as rec:
        result = search_dataset(model, items([1, 2, 3, 4, 5] * 4), algorithm=PAPER, sink=rec.sink)
        rec.finish("done", result.to_dict())
        return rec.id


def test_page_without_searches_says_how_to_make_one(fake_env, tmp_path, monkeypatch):
    monkeypatch.setenv("TALE_DATA_DIR", str(tmp_path / "data"))
    at = new_app(PAGE)
    no_exception(at)
    assert any("search-dataset" in c.value for c in at.code)


def test_page_trains_compares_and_exports(fake_env, tmp_path, monkeypatch):
    exp_id = _stored_search(tmp_path, monkeypatch)
    at = new_app(PAGE)
    no_exception(at)
    assert at.selectbox(key="est_pick").value == exp_id
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Questions"] == "20" and metrics["Searched (vanilla CoT correct)"] == "20"
    df = at.dataframe[0].value
    rows = {r["estimator"]: r for r in df.to_dict("records")}
    learned = next(k for k in rows if k.startswith("Learned"))
    assert rows["Oracle (searched optimum)"]["mean |log2 error|"] == 0.0
    assert rows[learned]["mean |log2 error|"] < rows["Fixed budget 50"]["mean |log2 error|"]
    button(at, "Save this learned estimator").click().run()
    no_exception(at)
    assert list((tmp_path / "data" / "estimators").glob("*.json"))
    assert len(at.get("download_button")) == 3
