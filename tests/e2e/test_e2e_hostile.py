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
