"""Bad input through the real app in Chromium: every mistake gets a clear message where it was made,
nothing is stored, and hostile HTML/script text (typed, uploaded or answered by a model) is shown as text
and never runs. Offline: scripted fakes and a loopback fake OpenAI server as a custom endpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.browser import (
    CHROMIUM,
    OUTBOUND,
    alerts,
    chromium_browser,
    guarded_page,
    main_text,
    open_page,
    screenshot,
    store_for,
    streamlit_server,
    wait_idle,
)
from tests.fakeservers import FakeOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="system Chromium not installed")]

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'
HOSTILE_ANSWER = f"{HOSTILE} **bold?** Answer: [[42]]"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """(base URL, data folder) of an app whose custom endpoint compat:fakehttp/m answers hostile HTML."""
    data = tmp_path_factory.mktemp("tale-e2e-bad")
    with FakeOpenAI() as srv:
        srv.default = srv.chat(HOSTILE_ANSWER, prompt_tokens=20, completion_tokens=12)
        endpoints = json.dumps([{"name": "fakehttp", "base_url": srv.base_url, "models": ["m"]}])
        with streamlit_server(data, extra_env={"TALE_ENDPOINTS": endpoints}) as url:
            yield url, data


@pytest.fixture(scope="module")
def browser():
    with chromium_browser() as b:
        yield b


@pytest.fixture(autouse=True)
def _no_outbound():
    OUTBOUND.clear()
    yield
    assert OUTBOUND == [], f"the browser tried to reach: {OUTBOUND[:5]}"


def _counts(data: Path) -> tuple[int, int]:
    """(experiments, datasets) stored so far."""
    store = store_for(data)
    return store.count_experiments(), len(store.list_datasets())


def _below(page, message_locator, field_locator, next_locator) -> bool:
    """True when the message sits between the field it is about and the next field down."""
    m, f, n = message_locator.bounding_box(), field_locator.bounding_box(), next_locator.bounding_box()
    return f["y"] < m["y"] < n["y"]


def test_playground_refuses_an_empty_and_a_huge_question(app, browser):
    url, data = app
    before = _counts(data)
    page = guarded_page(browser)
    open_page(page, f"{url}/playground?models=fake/elastic", "Playground")
    question = page.get_by_role("textbox", name="Question")
    gold = page.get_by_role("textbox", name="Gold answer (optional)")
    page.get_by_role("button", name="Run", exact=True).click()
    wait_idle(page)
    msg = page.get_by_text("Type a question first")
    msg.wait_for(timeout=15_000)
    assert _below(page, msg, question, gold)
    question.fill("x" * 50_000)
    page.get_by_role("button", name="Run", exact=True).click()
    wait_idle(page)
    msg = page.get_by_text("The question is 50,000 characters long")
    msg.wait_for(timeout=15_000)
    assert _below(page, msg, question, gold)
    assert "Saved as experiment" not in main_text(page)
    screenshot(page, "e2e-bad-playground-huge-question")
    assert _counts(data) == before
    page.context.close()


def test_sweep_explains_bad_budgets_under_the_budget_field(app, browser):
    url, data = app
    before = _counts(data)
    page = guarded_page(browser)
    open_page(page, f"{url}/sweep?models=fake/elastic", "Elasticity sweep")
    page.get_by_role("textbox", name="Question").fill("What is 6 times 7?")
    box = page.get_by_role("textbox", name="Budgets (tokens)")
    repeats = page.get_by_role("spinbutton", name="Repeats per budget")
    for typed, expected in (
        ("0", "Budget 0 must be at least 1 token"),
        ("-5", "Budget -5 must be at least 1 token"),
        ("ten, 20", "Budget 'ten' is not a whole number of tokens"),
        ("10, 99999999999999999999", "above the limit of 100,000 tokens"),
        ("", "No budgets given"),
    ):
        box.fill(typed)
        box.press("Enter")
        wait_idle(page)
        msg = page.get_by_text(expected)
        msg.first.wait_for(timeout=15_000)
        assert msg.count() == 1, f"{typed!r}: said {msg.count()} times"
        assert _below(page, msg, box, repeats), typed
        assert page.get_by_role("button", name="Start sweep").is_disabled(), typed
    screenshot(page, "e2e-bad-sweep-budgets")
    # a question that is too long is explained under the question, once
    question = page.get_by_role("textbox", name="Question")
    question.fill("y" * 50_000)
    box.fill("10, 50")
    box.press("Enter")
    wait_idle(page)
    msg = page.get_by_text("The question is 50,000 characters long")
    msg.first.wait_for(timeout=15_000)
    assert msg.count() == 1
    assert _below(page, msg, question, page.get_by_role("textbox", name="Gold answer (optional)"))
    assert page.get_by_role("button", name="Start sweep").is_disabled()
    assert _counts(data) == before
    page.context.close()


def _upload(page, path: Path) -> None:
    page.locator("[data-testid='stFileUploader'] input[type=file]").set_input_files(str(path))
    page.wait_for_timeout(500)
    wait_idle(page, 60_000)


def test_benchmark_uploads_that_cannot_be_used(app, browser, tmp_path):
    url, data = app
    before = _counts(data)
    files = {
        "empty.jsonl": (b"", "the file is empty"),
        "binary.jsonl": (bytes(range(256)) * 8, "this is a binary file"),
        "malformed.jsonl": (
            b'{"question": "What is 2+2?", "answer": "4"}\n{"question": "broken\n',
            "line 2: not valid JSON",
        ),
        "bad.csv": (b"foo,bar\n1,2\n", "nothing was loaded"),
    }
    page = guarded_page(browser)
    open_page(page, f"{url}/benchmark?models=fake/elastic", "Benchmark")
    page.get_by_text("Upload a file").click()
    wait_idle(page)
    for name, (content, expected) in files.items():
        path = tmp_path / name
        path.write_bytes(content)
        _upload(page, path)
        page.get_by_text(expected).first.wait_for(timeout=15_000)
        said = " ".join(alerts(page))
        assert f"Could not load {name}" in said and "nothing was loaded" in said, said
        assert page.get_by_role("button", name="Start benchmark").count() == 0
        assert page.locator("[data-testid='stException']").count() == 0
        screenshot(page, f"e2e-bad-upload-{name.replace('.', '-')}")
    page.context.close()

    big = tmp_path / "oversized.jsonl"
    line = json.dumps({"question": "Q " + "x" * 1000, "answer": "1"}) + "\n"
    big.write_text(line * (22_000_000 // len(line)))
    page = guarded_page(browser)
    open_page(page, f"{url}/benchmark?models=fake/elastic", "Benchmark")
    page.get_by_text("Upload a file").click()
    wait_idle(page)
    _upload(page, big)
    page.get_by_text("File must be", exact=False).first.wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Start benchmark").count() == 0
    screenshot(page, "e2e-bad-upload-oversized")
    assert _counts(data) == before
    page.context.close()


def test_experiments_page_refuses_malformed_and_hostile_bundles(app, browser, tmp_path):
    url, data = app
    before = _counts(data)
    bundles = {
        "not-json.json": (b"{this is not json", "not valid JSON"),
        "nested.json": (b"[" * 200_000 + b"]" * 200_000, "not usable JSON"),
        "wrong-format.json": (json.dumps({"format": "something-else", "version": 1}).encode(), "format: expected"),
        "hostile.json": (
            json.dumps(
                {
                    "format": "tale-explorer-bundle",
                    "version": 1,
                    "experiment": {
                        "id": "../../etc/passwd",
                        "title": HOSTILE,
                        "kind": "sweep",
                        "status": 7,
                        "config": "x" * 10,
                    },
                    "calls": "all of them",
                }
            ).encode(),
            "calls: must be a list",
        ),
        "empty.json": (b"", "empty"),
    }
    page = guarded_page(browser)
    open_page(page, f"{url}/experiments", "Experiments")
    page.get_by_text("Import an experiment (JSON bundle)").click()
    wait_idle(page)
    for name, (content, expected) in bundles.items():
        path = tmp_path / name
        path.write_bytes(content)
        _upload(page, path)
        if content:
            page.get_by_role("button", name="Import").click()
            wait_idle(page)
            page.get_by_text(expected, exact=False).first.wait_for(timeout=15_000)
        else:  # Streamlit itself may refuse a 0-byte file; either way nothing can be imported
            said = main_text(page)
            assert "Imported as experiment" not in said
        assert page.locator("[data-testid='stException']").count() == 0, name
        assert page.evaluate("() => window.__pwned") is None
        screenshot(page, f"e2e-bad-bundle-{name.replace('.', '-')}")
    assert _counts(data) == before
    page.context.close()


def test_html_in_a_question_is_shown_as_text_and_never_runs(app, browser):
    url, data = app
    page = guarded_page(browser)
    open_page(page, f"{url}/sweep?models=fake/elastic", "Elasticity sweep")
    question = f"{HOSTILE} What is 6 times 7?"
    page.get_by_role("textbox", name="Question").fill(question)
    box = page.get_by_role("textbox", name="Budgets (tokens)")
    box.fill("10, 50")
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Start sweep").click()
    page.get_by_text("Finished:").wait_for(timeout=60_000)
    wait_idle(page)
    page.get_by_text("Question", exact=True).click()
    wait_idle(page)
    assert page.get_by_text(question).count() >= 1, "the question's literal text is not shown"
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("[data-testid='stMain'] img[src='x']").count() == 0
    screenshot(page, "e2e-bad-html-question-sweep")
    open_page(page, f"{url}/experiments", "Experiments")  # listed by its title
    assert "Sweep: <img src=x" in main_text(page)
    assert page.evaluate("() => window.__pwned") is None
    page.context.close()


def test_html_in_a_model_answer_is_shown_as_text_and_never_runs(app, browser):
    url, data = app
    page = guarded_page(browser)
    open_page(page, f"{url}/playground?models=compat:fakehttp/m", "Playground")
    assert "compat:fakehttp/m" in page.locator("[data-testid='stSidebar']").inner_text()
    page.get_by_role("textbox", name="Question").fill("What is 6 times 7?")
    page.get_by_role("textbox", name="Gold answer (optional)").fill("42")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Summary").wait_for(timeout=60_000)
    wait_idle(page)
    assert page.get_by_text(HOSTILE_ANSWER).count() >= 1, "the answer's literal text is not shown"
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("[data-testid='stMain'] img[src='x']").count() == 0
    assert "Correct" in main_text(page)
    screenshot(page, "e2e-bad-html-answer-playground")
    page.context.close()
