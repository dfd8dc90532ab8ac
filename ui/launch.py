"""Start the app the way ``make run`` does: ``python -m ui.launch [streamlit options]``.

Why not plain ``streamlit run app.py``: Streamlit still has its original multipage mode, switched on
process-wide when a folder named ``pages/`` sits beside the entry script. In that mode the first page
request of a fresh server that arrives on a deep link (a shared ``/sweep?experiment=<id>`` link, say)
runs that page file on its own, without ``app.py``'s navigation and sidebar. Our pages live in
``pages/`` and are registered with ``st.navigation``, so this launcher turns the old mode off before
the server starts; ``app.py`` also turns it off for every run after the first when started directly.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def disable_legacy_pages_dir() -> None:
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


def keep_legacy_pages_mode_off() -> None:
    """Keep the legacy mode off even where Streamlit re-detects the folder (AppTest does, every run)."""
    from streamlit.runtime.pages_manager import PagesManager

    if getattr(PagesManager.__init__, "_tale_patched", False):
        return
    original = PagesManager.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    __init__._tale_patched = True
    PagesManager.__init__ = __init__
    disable_legacy_pages_dir()


def main(argv: list[str] | None = None) -> None:
    keep_legacy_pages_mode_off()
    from streamlit.web import cli

    args = list(sys.argv[1:] if argv is None else argv)
    sys.argv = ["streamlit", "run", str(APP), "--server.address", "127.0.0.1", *args]
    cli.main()


if __name__ == "__main__":
    main()
