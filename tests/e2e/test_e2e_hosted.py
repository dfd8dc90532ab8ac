"""Hosted mode in a real browser (Chromium): two visitors in separate contexts do not see each other's
experiments (and a reload keeps one's own), a link opens read-only, the access code gates running, a
visitor hits their spend cap with a clear message, the custom-endpoint form cannot read a server
variable, and there is no server path field. Loopback only: the host's "OpenAI" is a fake server here.
"""

from __future__ import annotations

import os
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

CODE = "class-42"
PLANTED = "sk-planted-server-secret-5f1e"
PAID = "openai/gpt-4o-mini"


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """(base URL, data folder, the host's fake OpenAI, a visitor's own fake endpoint) of one hosted app."""
    data = tmp_path_factory.mktemp("tale-e2e-hosted")
    with FakeOpenAI(api_key="sk-host-key") as paid, FakeOpenAI() as visitors_own:
        paid.default = paid.chat("6 x 7 = 42. Answer: [[42]]", prompt_tokens=1000, completion_tokens=1000)
        visitors_own.default = visitors_own.chat("Answer: [[42]]", prompt_tokens=5, completion_tokens=5)
        env = {
            "TALE_HOSTED": "1",
            "TALE_ACCESS_CODE": CODE,
            "TALE_HOSTED_MODELS": f"fake/*,{PAID}",
            "TALE_VISITOR_CAP_USD": "0.0001",
            "TALE_HOSTED_ENDPOINTS": "1",
            "OPENAI_API_KEY": "sk-host-key",
            "OPENAI_BASE_URL": paid.base_url,
            "PLANTED_SECRET": PLANTED,
            "NO_PROXY": "127.0.0.1,localhost",
        }
        with streamlit_server(data, extra_env=env) as url:
            yield url, data, paid, visitors_own


@pytest.fixture(scope="module")
def browser():
    with chromium_browser() as b:
        yield b


@pytest.fixture(autouse=True)
def _no_outbound():
    OUTBOUND.clear()
    yield
    assert OUTBOUND == [], f"the browser tried to reach: {OUTBOUND[:5]}"


def enter_code(page, code: str = CODE) -> None:
    sidebar = page.locator("[data-testid='stSidebar']")
    box = sidebar.get_by_label("Access code")
    box.fill(code)
    sidebar.get_by_role("button", name="Enter").click()
    wait_idle(page)


def run_playground(page, question: str) -> None:
    page.get_by_role("textbox", name="Question").fill(question)
    page.get_by_role("textbox", name="Gold answer (optional)").fill("42")
    page.get_by_role("textbox", name="Gold answer (optional)").press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Run", exact=True).click()
    wait_idle(page, 60_000)


def saved_id(page) -> str:
    text = page.get_by_text("Saved as experiment").first.inner_text()
    return text.split("Saved as experiment", 1)[1].strip().rstrip(".")


def test_visitors_do_not_see_each_others_experiments_and_links_open_read_only(host, browser):
    url, data, _, _ = host
    a = guarded_page(browser)
    open_page(a, f"{url}/playground?models=fake/elastic", "Playground")
    enter_code(a)
    run_playground(a, "What is 6 times 7?")
    eid = saved_id(a)
    assert store_for(data).exists(eid)

    open_page(a, f"{url}/experiments", "Experiments")
    assert "1 experiment(s), newest first." in main_text(a)
    a.reload()  # a new session: the owner cookie brings the same visitor back
    a.get_by_role("heading", name="Experiments").wait_for(timeout=30_000)
    wait_idle(a)
    assert "1 experiment(s), newest first." in main_text(a)
    screenshot(a, "e2e-hosted-visitor-a-list")

    b = guarded_page(browser)  # another browser: its own cookie jar
    open_page(b, f"{url}/experiments", "Experiments")
    assert "No experiments yet" in main_text(b)
    assert eid not in main_text(b)

    open_page(b, f"{url}/experiments?experiment={eid}", "Experiments")
    assert any("read-only" in t for t in alerts(b))
    b.get_by_role("tab", name="Rename and notes").click()
    wait_idle(b)
    assert b.get_by_role("button", name="Save").is_disabled()
    b.get_by_role("tab", name="Rerun, export, delete").click()
    wait_idle(b)
    assert b.get_by_role("button", name="Delete this experiment").count() == 0
    screenshot(b, "e2e-hosted-link-read-only")

    a.goto(f"{url}/experiments?experiment={eid}")
    a.get_by_role("tab", name="Rename and notes").wait_for(timeout=30_000)
    wait_idle(a)
    a.get_by_role("tab", name="Rename and notes").click()
    wait_idle(a)
    assert a.get_by_role("button", name="Save").is_enabled()
    a.context.close()
    b.context.close()


def test_the_access_code_gates_running(host, browser):
    url, data, _, _ = host
    before = store_for(data).count_experiments()
    page = guarded_page(browser)
    open_page(page, f"{url}/playground?models=fake/elastic", "Playground")
    run_playground(page, "What is 5 times 9?")
    assert any("access code" in t for t in alerts(page))
    assert "Saved as experiment" not in main_text(page)
    enter_code(page, "not-the-code")
    assert any("not right" in t for t in alerts(page))
    assert store_for(data).count_experiments() == before
    enter_code(page)
    run_playground(page, "What is 5 times 9?")
    page.get_by_text("Saved as experiment").first.wait_for(timeout=30_000)
    assert store_for(data).count_experiments() == before + 1
    page.context.close()


def test_a_visitor_hits_the_spend_cap_with_a_clear_message(host, browser):
    url, _, paid, _ = host
    page = guarded_page(browser)
    open_page(page, f"{url}/playground?models={PAID}", "Playground")
    enter_code(page)
    sent = paid.count
    run_playground(page, "What is 7 times 8?")
    page.get_by_text("Saved as experiment").first.wait_for(timeout=30_000)
    first = paid.count
    assert first > sent  # one call per method shown, on the host's key
    assert all(r.header("authorization") == "Bearer sk-host-key" for r in paid.requests)
    run_playground(page, "What is 8 times 9?")
    msgs = [t for t in alerts(page) if "Spend cap reached" in t]
    assert msgs and "$0.00" in msgs[0] and "bring your own key" in msgs[0]
    assert paid.count == first  # the refused run sent nothing
    screenshot(page, "e2e-hosted-spend-cap")
    page.context.close()


def test_the_custom_endpoint_form_cannot_read_a_server_variable(host, browser):
    url, _, _, own = host
    assert os.environ.get("PLANTED_SECRET") is None  # only the app server has it
    page = guarded_page(browser)
    open_page(page, f"{url}/playground", "Playground")
    enter_code(page)
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("Custom OpenAI-compatible endpoint").click()
    wait_idle(page)
    sidebar.get_by_role("textbox", name="Name", exact=True).fill("mine")
    sidebar.get_by_role("textbox", name="Base URL", exact=True).fill(own.base_url)
    sidebar.get_by_role("textbox", name="Model names (comma separated)").fill("tiny")
    env_field = sidebar.get_by_role("textbox", name="Environment variable holding its key (optional)")
    if env_field.count():  # the form as it was: a visitor names any server variable
        env_field.fill("PLANTED_SECRET")
    sidebar.get_by_role("button", name="Add endpoint").click()
    wait_idle(page)
    picker = sidebar.locator("[data-testid='stMultiSelect']").first
    picker.click()
    page.keyboard.type("compat:mine/tiny")
    page.keyboard.press("Enter")
    wait_idle(page)
    page.keyboard.press("Escape")
    assert "compat:mine/tiny" in sidebar.inner_text()
    run_playground(page, "What is 6 times 7? (own endpoint)")
    screenshot(page, "e2e-hosted-own-endpoint")
    page.get_by_text("Saved as experiment").first.wait_for(timeout=30_000)
    assert own.count >= 1
    seen = " ".join(" ".join(r.headers.values()) + r.raw.decode("utf-8", "replace") for r in own.requests)
    assert PLANTED not in seen
    page.context.close()


def test_there_is_no_server_path_field(host, browser):
    url, _, _, _ = host
    page = guarded_page(browser)
    open_page(page, f"{url}/benchmark", "Benchmark")
    page.get_by_text("Bundled samples").first.wait_for(timeout=30_000)
    screenshot(page, "e2e-hosted-benchmark")
    assert "Upload a file" in main_text(page)
    assert "File on the server" not in main_text(page)
    assert "on the server" not in main_text(page)
    page.context.close()


EVIL = "http://203.0.113.9"  # TEST-NET-3: never routable; any request to it is caught by the loopback guard


def _hostile_bundle(tmp_path: Path) -> Path:
    """A bundle whose title, notes, gold answer, model spec and price label are markdown images."""
    from db.bundle import export_bytes
    from db.store import Store
    from tests.helpers_db import make_record

    store = Store(f"sqlite:///{tmp_path / 'hostile.db'}")
    spec = f"fake/![m]({EVIL}/m.png)"
    eid = store.create_experiment(
        "sweep",
        f"![t]({EVIL}/t.png) hostile",
        {"question": "What is 6 times 7?", "gold": f"![g]({EVIL}/g.png)", "models": [spec], "budgets": [10]},
        notes=f"![n]({EVIL}/n.png)",
        price_table=f"![p]({EVIL}/p.png)",
        status="done",
    )
    store.record_call(eid, make_record(spec=spec, cell_id=f"{spec}|10|0"))
    path = tmp_path / "hostile.json"
    path.write_bytes(export_bytes(eid, store))
    return path


def test_a_hostile_bundle_and_a_hostile_link_make_no_request_off_loopback(host, browser, tmp_path):
    url, data, _, _ = host
    page = guarded_page(browser)
    open_page(page, f"{url}/experiments", "Experiments")
    page.get_by_text("Import an experiment (JSON bundle)").click()
    wait_idle(page)
    page.locator("[data-testid='stFileUploader'] input[type=file]").set_input_files(str(_hostile_bundle(tmp_path)))
    page.get_by_role("button", name="Import").wait_for(timeout=30_000)
    wait_idle(page)
    page.get_by_role("button", name="Import").click()
    page.get_by_text("Imported").first.wait_for(timeout=30_000)
    eid = next(e.id for e in store_for(data).list_experiments(search="hostile"))
    open_page(page, f"{url}/experiments", "Experiments")
    assert "1 experiment(s), newest first." in main_text(page)  # the importer owns what they imported
    evil_id = f"![x]({EVIL}/link.png)"
    for path in ("experiments", "sweep", "search", "benchmark"):
        for target in (eid, evil_id):
            page.goto(f"{url}/{path}?experiment={target}")
            wait_idle(page)
            page.wait_for_timeout(300)  # an image would be requested as soon as its markup is in the DOM
    screenshot(page, "e2e-hosted-hostile")
    page.context.close()
    leaked = list(OUTBOUND)
    OUTBOUND.clear()  # checked here, so that the expected failure is this test's and not its teardown's
    assert leaked == [], f"the browser tried to reach: {leaked[:5]}"
