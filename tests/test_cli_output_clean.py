"""What the CLI prints goes through the scrubber and cannot drive the terminal (issue 10)."""

from __future__ import annotations

import pytest

from tale_core import cli as core_cli
from tale_core.cli import clean_output

EVIL_TITLE = "Imported \x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil title"
ECHOED_KEY = "echoed-by-a-server-1234567890"


@pytest.fixture
def cli(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TALE_DATABASE_URL", url)
    old_factory = core_cli.RECORDER_FACTORY
    import db.cli  # registers the commands and the output scrubber

    core_cli.set_output_filter(db.cli._scrub_output)

    yield url
    core_cli.set_recorder_factory(old_factory)
    from db.engine import dispose

    dispose(url)


def test_control_characters_in_titles_do_not_reach_the_terminal(cli, capsys):
    from db.store import Store

    store = Store(cli)
    eid = store.create_experiment("playground", EVIL_TITLE, {})
    store.annotate(eid, "notes \x1b[31mred\x1b[0m")
    for argv in (["experiments", "show", eid], ["experiments", "list"]):
        assert core_cli.main(argv) == 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "evil title" in text
    for bad in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert bad not in text, repr(bad)


def test_keys_a_server_echoes_are_not_printed(cli, capsys, monkeypatch):
    from db.store import Store

    eid = Store(cli).create_experiment("playground", f"the server said {ECHOED_KEY}", {})
    # a title stored before the key was known is still not printed once the key is in use
    monkeypatch.setenv("LAB_TOKEN", ECHOED_KEY)
    assert core_cli.main(["experiments", "show", eid]) == 0
    out = capsys.readouterr()
    assert ECHOED_KEY not in out.out + out.err and "[redacted]" in out.out


def test_clean_output_keeps_layout_and_the_progress_bar():
    line = "\rsweep [####----] 4/8 2s\x1b[K"
    assert clean_output(line) == line
    assert clean_output("a\tb\nc") == "a\tb\nc"
    assert clean_output("x\x1b[31my") == "x?[31my"
    assert clean_output("http://u:pw-123456@h/v1") == "http://[redacted]@h/v1"
