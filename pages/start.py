"""Start here: the phenomenon in seconds with no key (a simulated model), then the routes to a real one."""

from __future__ import annotations

from ui import start_view

start_view.render_page()
