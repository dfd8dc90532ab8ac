"""`experiments` and `db` CLI commands, and the recorder the CLI installs for sweeps/searches/benchmarks."""

from __future__ import annotations

import json

import pytest

from tale_core import cli as core_cli
from tests.helpers_db import make_record


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """Run ``python -m tale_core`` in-process against a fresh SQLite file; restores the recorder factory."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TALE_DATABASE_URL", url)
    old_factory = core_cli.RECORDER_FACTORY
    import db.cli  # noqa: F401 - registers the commands and the recorder factory

    def run(*argv: str) -> int:
        return core_cli.main(list(argv))

    run.url = url
    yield run
    core_cli.set_recorder_factory(old_factory)
    from db.engine import dispose

    dispose(url)


def _store(url):
    from db.store import Store

    return Store(url)


def test_recorder_factory_records_runs(cli):
    import db.cli

    rec = db.cli._factory("bench", "CLI benchmark", {"dataset": "mini"})
    rec.sink.on_call(make_record(cell_id="q1|vanilla"))
    rec.sink.on_call(make_record(cell_id="q1|vanilla"))  # a duplicate is ignored, not an error
    rec.finish("done", {"accuracy": 1.0})
    d = _store(cli.url).get_experiment(rec.id)
    assert (d.kind, d.title, d.status, d.summary, len(d.calls)) == (
        "benchmark",
        "CLI benchmark",
        "done",
        {"accuracy": 1.0},
        1,
    )
    assert rec.sink.recorded == 1 and rec.sink.duplicates == 1
    assert rec.cache is not None


def test_recorder_context_manager_marks_failures(cli):
    from db.recorder import Recorder

    store = _store(cli.url)
    with pytest.raises(RuntimeError):
        with Recorder.start("search", "boom", {}, store=store) as rec:
            raise RuntimeError("provider exploded")
    d = store.get_experiment(rec.id)
    assert d.status == "failed" and "exploded" in d.summary["error"]


def test_sink_never_raises_into_the_engine(cli):
    from db.recorder import Recorder

    store = _store(cli.url)
    rec = Recorder.start("sweep", "s", {}, store=store)
    store.delete(rec.id)  # the experiment vanished under the run
    rec.sink.on_call(make_record())
    assert len(rec.sink.failures) == 1 and "No experiment" in rec.sink.failures[0]


def test_list_show_export_import_rename_note_delete(cli, capsys, tmp_path):
    store = _store(cli.url)
    assert cli("experiments", "list") == 0
    assert "No experiments yet" in capsys.readouterr().out
    eid = store.create_experiment("sweep", "Peyton elasticity", {"question": "Peyton?"})
    store.record_call(eid, make_record(cell_id="c1", cost=0.002))
    store.record_call(eid, make_record(cell_id="c2", error={"kind": "timeout", "message": "took too long"}))
    store.finish_experiment(eid, "done", {"sweet_spot": 50})

    assert cli("experiments", "list") == 0
    out = capsys.readouterr().out
    assert eid in out and "Peyton elasticity" in out and "sweep" in out
    assert cli("experiments", "list", "--json", "--search", "peyton") == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["id"] == eid and row["n_calls"] == 2 and row["n_errors"] == 1

    assert cli("experiments", "show", eid, "--calls") == 0
    out = capsys.readouterr().out
    assert "2 calls (1 failed)" in out and "took too long" in out and "sweet_spot" in out
    assert cli("experiments", "show", eid, "--json", "--calls") == 0
    assert len(json.loads(capsys.readouterr().out)["calls"]) == 2

    path = tmp_path / "b.json"
    assert cli("experiments", "export", eid, str(path)) == 0
    capsys.readouterr()
    assert cli("experiments", "import", str(path), "--json") == 0
    res = json.loads(capsys.readouterr().out)
    assert res["ok"] and res["id"] != eid and len(store.calls_for(res["id"])) == 2

    assert cli("experiments", "rename", eid, "New title") == 0
    assert cli("experiments", "note", eid, "some notes") == 0
    d = store.get_experiment(eid)
    assert (d.title, d.notes) == ("New title", "some notes")
    assert cli("experiments", "delete", eid) == 0
    capsys.readouterr()
    assert cli("experiments", "delete", eid) == 2
    assert "No experiment" in capsys.readouterr().err


def test_clear_errors_for_bad_input(cli, capsys, tmp_path):
    assert cli("experiments", "show", "missing-id") == 2
    assert "No experiment with id 'missing-id'" in capsys.readouterr().err
    assert cli("experiments", "import", str(tmp_path / "nope.json")) == 2
    assert "No such file" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "tale-explorer-bundle", "version": 1, "experiment": {"kind": "x"}}')
    assert cli("experiments", "import", str(broken)) == 2
    err = capsys.readouterr().err
    assert "cannot be imported" in err and "experiment.kind" in err and "Traceback" not in err
    assert cli("experiments", "import", str(broken), "--json") == 2
    assert json.loads(capsys.readouterr().out)["ok"] is False
    assert cli("experiments", "export", "missing-id", str(tmp_path / "x.json")) == 2


def test_db_commands(cli, capsys):
    assert cli("db", "upgrade") == 0
    assert "revision" in capsys.readouterr().out
    assert cli("db", "check") == 0
    assert "agree" in capsys.readouterr().out
    assert cli("db", "current") == 0
    from db.migrate import head_revision

    assert f"revision {head_revision()}" in capsys.readouterr().out


def test_db_check_fails_on_a_database_behind_head(cli, capsys):
    from db import migrate

    migrate.upgrade(cli.url)
    migrate.downgrade(cli.url, "base")
    assert cli("db", "check") == 1
    assert "db upgrade" in capsys.readouterr().err
