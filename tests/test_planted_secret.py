"""A planted secret appears in no channel: database (main file and WAL), bundles, CLI output, logs, pages.

Distinctive fake keys are planted where a host keeps them: ``OPENAI_API_KEY``, a variable NOT named like a
key that a host-configured endpoint names (``LAB_ACCESS``), and a password inside that endpoint's base URL.
A loopback OpenAI-compatible server echoes the Authorization header it received and every planted value
back, in its answers and in an error. A sweep runs through the CLI (recorded in SQLite), the experiment is
listed, shown and exported through the CLI, imported again, and opened on the pages through AppTest.
"""

from __future__ import annotations

import json
import logging

import pytest

from tale_core import cli as core_cli
from tests.fakeservers import FakeOpenAI, isolate_sdk_env
from tests.helpers_app import new_app, no_exception

OPENAI_PLANT = "plantOPENAIvalue9988776655"
ENDPOINT_PLANT = "plantENDPOINTvalue1122334455"
URL_PLANT = "plantURLpassword5566778899"
PLANTS = (OPENAI_PLANT, ENDPOINT_PLANT, URL_PLANT)
NEEDLES = PLANTS + ("plantOPENAI", "plantENDPOINT", "plantURL")


def _leaks(blob: str | bytes) -> list[str]:
    if isinstance(blob, bytes):
        return [n for n in NEEDLES if n.encode() in blob]
    return [n for n in NEEDLES if n in blob]


def _page_text(at) -> str:
    """Every value any element of the page holds: markdown, text, code, JSON, tables, labels, inputs."""
    parts: list[str] = []
    for node in at.main.children.values() if hasattr(at.main, "children") else []:
        parts.append(str(node))
    for kind in (
        "markdown",
        "caption",
        "text",
        "code",
        "json",
        "error",
        "warning",
        "info",
        "success",
        "title",
        "subheader",
        "metric",
        "text_input",
        "text_area",
    ):
        for el in at.get(kind):
            parts.append(str(getattr(el, "value", "")))
            parts.append(str(getattr(el, "label", "")))
    for el in at.dataframe:
        parts.append(el.value.to_csv())
    for el in at.get("page_link"):
        parts.append(str(el.proto.label))
    return "\n".join(parts)


@pytest.fixture
def planted(monkeypatch, tmp_path):
    isolate_sdk_env(monkeypatch)
    db_dir = tmp_path / "db"
    url = f"sqlite:///{db_dir / 'tale.db'}"
    monkeypatch.setenv("TALE_DATABASE_URL", url)
    monkeypatch.setenv("TALE_FAKE_MODELS", "1")
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_PLANT)
    monkeypatch.setenv("LAB_ACCESS", ENDPOINT_PLANT)
    with FakeOpenAI() as fake:

        def echo(req) -> None:
            auth = req.header("authorization") or ""
            said = f"I received {auth}, {OPENAI_PLANT}, {ENDPOINT_PLANT} and {URL_PLANT}."
            fake.chat(f"The answer is 42. {said}")(req)

        fake.default = echo
        fake.enqueue(fake.bad_request(f"Bad key {ENDPOINT_PLANT} / {URL_PLANT} / {OPENAI_PLANT}"))
        base = f"http://labuser:{URL_PLANT}@127.0.0.1:{fake.port}/v1"
        monkeypatch.setenv(
            "TALE_ENDPOINTS",
            json.dumps(
                [
                    {"name": "lab", "base_url": base, "models": ["m1"], "api_key_env": "LAB_ACCESS"},
                    {"name": "lab2", "base_url": fake.base_url, "models": ["m1"], "api_key_env": "LAB_ACCESS"},
                ]
            ),
        )
        old_factory = core_cli.RECORDER_FACTORY
        import db.cli  # registers the experiments commands, the recorder and the output scrubber

        core_cli.set_recorder_factory(db.cli._factory)  # the import registers it only once per process
        core_cli.set_output_filter(db.cli._scrub_output)

        yield fake, db_dir
        core_cli.set_recorder_factory(old_factory)
        from db.engine import dispose

        dispose(url)


def test_planted_secrets_appear_in_no_channel(planted, capsys, caplog, tmp_path, fake_env):
    fake, db_dir = planted
    caplog.set_level(logging.DEBUG)
    from db.store import Store

    # 1. a sweep through the CLI, recorded in the database
    rc = core_cli.main(
        [
            "sweep",
            "What is 6 * 7?",
            "--answer",
            "42",
            "--model",
            "compat:lab/m1",
            "--model",
            "compat:lab2/m1",
            "--budgets",
            "10,50",
            "--json",
        ]
    )
    sweep_out = capsys.readouterr()
    assert rc == 0, sweep_out
    assert fake.count >= 3  # the loopback server was really called, and echoed the keys
    auths = {r.header("authorization") or "" for r in fake.requests}
    assert f"Bearer {ENDPOINT_PLANT}" in auths  # lab2: the key from the variable the host named
    assert any(a.startswith("Basic ") for a in auths)  # lab: the URL's user:password as basic auth
    store = Store()
    (exp,) = store.list_experiments()
    detail = store.get_experiment(exp.id)
    assert any(c.status == "error" for c in detail.calls) and any(c.status == "ok" for c in detail.calls)

    # 2. list, show and export it through the CLI, import the bundle again
    bundle = tmp_path / "bundle.json"
    for argv in (
        ["experiments", "list"],
        ["experiments", "show", exp.id, "--calls"],
        ["experiments", "show", exp.id, "--json", "--calls"],
        ["experiments", "export", exp.id, str(bundle)],
        ["experiments", "import", str(bundle)],
    ):
        assert core_cli.main(argv) == 0, argv
    cli_out = capsys.readouterr()
    cli_text = sweep_out.out + sweep_out.err + cli_out.out + cli_out.err
    assert "42" in cli_text
    assert _leaks(cli_text) == [], "CLI output"
    assert _leaks(bundle.read_bytes()) == [], "exported bundle"

    # 3. the pages, opened by link (the app reads the same database)
    for page in ("pages/experiments.py", "pages/sweep.py"):
        at = new_app(page, query={"experiment": exp.id})
        no_exception(at)
        text = _page_text(at)
        assert "42" in text, page
        assert _leaks(text) == [], page
    at = new_app("pages/experiments.py")
    no_exception(at)
    assert _leaks(_page_text(at)) == [], "experiment list"

    # 4. every byte of the database files, the WAL included, and every log record
    files = sorted(p for p in db_dir.iterdir() if p.is_file())
    assert any(p.name.endswith("-wal") for p in files), [p.name for p in files]
    assert _leaks(b"".join(p.read_bytes() for p in files)) == [], "database files"
    logs = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert _leaks(logs) == [], "logs"
