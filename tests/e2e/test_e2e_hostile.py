"""A hostile share link and a hostile imported bundle make the browser request nothing outside loopback
(issue 10: ``?experiment=![x](http://.../a.png)`` and markdown titles used to fetch remote images)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from db.bundle import import_bundle
from tests.e2e.browser import (
    CHROMIUM,
    OUTBOUND,
    alerts,
    chromium_browser,
    guarded_page,
    main_text,
    store_for,
    streamlit_server,
    wait_idle,
)
from tests.hostile import EVIL_LINK_ID, hostile_bundle

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="system Chromium not installed")]


def test_hostile_link_and_bundle_cause_no_outbound_request(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    OUTBOUND.clear()
    with streamlit_server(data) as url:
        store = store_for(data)
        eid = import_bundle(hostile_bundle(store), store)
        visits = [f"{url}/{page}?experiment={quote(EVIL_LINK_ID)}" for page in ("experiments", "sweep", "search")]
        visits += [f"{url}/experiments?experiment={eid}", f"{url}/sweep?experiment={eid}", f"{url}/experiments"]
        with chromium_browser() as browser:
            page = guarded_page(browser)
            for visit in visits:
                page.goto(visit)
                wait_idle(page)
                page.wait_for_timeout(500)  # images would be requested as soon as the markup is in the DOM
            text = main_text(page)
    assert "evil" in text or "Sweep" in text
    assert OUTBOUND == [], f"the browser tried to reach: {OUTBOUND[:5]}"


SECRET = "sk-proj-E2EserverFILEsecret0123456789abcdef"


def test_path_field_reads_only_the_data_folder_and_the_endpoint_form_names_no_variable(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "good.jsonl").write_text('{"question": "What is 2 + 2?", "answer": "4"}\n', encoding="utf-8")
    (data / "leaky.csv").write_text(f"OPENAI_API_KEY={SECRET},x\n1,2\n", encoding="utf-8")
    (tmp_path / "secrets.toml").write_text(f'OPENAI_API_KEY = "{SECRET}"\n', encoding="utf-8")
    OUTBOUND.clear()
    with streamlit_server(data, extra_env={"SERVER_ONLY_VAR": SECRET}) as url:
        with chromium_browser() as browser:
            page = guarded_page(browser)
            page.goto(f"{url}/benchmark")
            wait_idle(page)
            page.get_by_text("File on the server").click()
            wait_idle(page)
            box = page.get_by_role("textbox", name="File in the app's data folder (JSONL, JSON or CSV)")
            for typed in ("../secrets.toml", str(tmp_path / "secrets.toml"), "leaky.csv"):
                box.fill(typed)
                box.press("Enter")
                wait_idle(page)
                said = " ".join(alerts(page))
                assert "Could not load" in said, (typed, said)
                assert SECRET not in page.content(), typed
            box.fill("good.jsonl")
            box.press("Enter")
            wait_idle(page)
            assert "good: 1 question(s)" in main_text(page)
            # the sidebar's endpoint form offers a session-only key, never a server variable
            page.get_by_text("Custom OpenAI-compatible endpoint").click()
            wait_idle(page)
            sidebar = page.locator("[data-testid='stSidebar']").inner_text()
            assert "API key (optional, this session only)" in sidebar
            assert "variable" not in sidebar.lower() and SECRET not in page.content()
    assert OUTBOUND == [], f"the browser tried to reach: {OUTBOUND[:5]}"
