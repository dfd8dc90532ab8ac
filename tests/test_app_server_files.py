"""The Benchmark page's "file on the server" field reads only inside the allowed data folder, never shows
a file's content in an error, and can be switched off."""

from __future__ import annotations

import os

import pytest

from tale_core.data.datasets import DatasetError, load_dataset, load_server_file, resolve_server_path
from tale_core.errors import TaleError
from tests.helpers_app import errors, new_app, no_exception
from ui import bench_job

PAGE = "pages/benchmark.py"
SECRET = "sk-proj-PLANTEDserverFILEsecret0123456789"


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """data/ (allowed, with one good file and one whose header holds a secret), and a secrets file beside it."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "good.jsonl").write_text('{"question": "What is 2 + 2?", "answer": "4"}\n', encoding="utf-8")
    (data / "leaky.csv").write_text(f"OPENAI_API_KEY={SECRET},x\n1,2\n", encoding="utf-8")
    (data / "dup.jsonl").write_text(
        f'{{"id": "{SECRET}", "question": "a?", "answer": "1"}}\n{{"id": "{SECRET}", "question": "b?", "answer": "2"}}\n',
        encoding="utf-8",
    )
    st_dir = tmp_path / ".streamlit"
    st_dir.mkdir()
    (st_dir / "secrets.toml").write_text(f'OPENAI_API_KEY = "{SECRET}"\n', encoding="utf-8")
    (tmp_path / "outside.jsonl").write_text(f'{{"question": "{SECRET}?", "answer": "1"}}\n', encoding="utf-8")
    os.symlink(tmp_path / "outside.jsonl", data / "link.jsonl")
    monkeypatch.setenv("TALE_SERVER_FILES_DIR", str(data))
    return tmp_path


@pytest.mark.parametrize(
    "typed",
    ["../.streamlit/secrets.toml", "../outside.jsonl", "link.jsonl", "{abs}/outside.jsonl", "/etc/passwd", "~/x.jsonl"],
)
def test_paths_outside_the_folder_are_refused(tree, typed):
    typed = typed.replace("{abs}", str(tree))
    with pytest.raises(DatasetError) as info:
        resolve_server_path(typed, tree / "data")
    assert "data folder" in str(info.value) or "only" in str(info.value)
    assert SECRET not in str(info.value) and str(tree) not in str(info.value)


def test_only_data_files_inside_the_folder_are_read(tree):
    assert len(load_server_file("good.jsonl", tree / "data")) == 1
    (tree / "data" / "notes.toml").write_text(f'k = "{SECRET}"\n')
    with pytest.raises(DatasetError, match="only .jsonl"):
        resolve_server_path("notes.toml", tree / "data")


@pytest.mark.parametrize("name", ["leaky.csv", "dup.jsonl"])
def test_errors_about_a_server_file_never_quote_its_content(tree, name):
    with pytest.raises(DatasetError) as info:
        load_server_file(name, tree / "data")
    assert SECRET not in str(info.value)
    assert "line" in str(info.value)  # still says where the problem is
    # the same bytes uploaded by the visitor are theirs: the message may name what it found
    with pytest.raises(DatasetError) as up:
        load_dataset((tree / "data" / name).read_bytes(), name=name)
    assert SECRET in str(up.value)


def test_page_refuses_paths_outside_and_shows_no_content(fake_env, tree):
    at = new_app(PAGE)
    at.radio(key="bm_source").set_value("File on the server").run()
    for typed in ("../.streamlit/secrets.toml", str(tree / ".streamlit" / "secrets.toml"), "leaky.csv", "link.jsonl"):
        at.text_input(key="bm_path").input(typed).run()
        no_exception(at)
        shown = " ".join(errors(at))
        assert shown, typed
        assert SECRET not in shown.replace("\\", ""), typed
    at.text_input(key="bm_path").input("good.jsonl").run()
    no_exception(at)
    assert not errors(at)


def test_a_rerun_config_cannot_name_a_file_outside(tree):
    for source in ({"source": "path", "path": str(tree / "outside.jsonl")}, {"source": str(tree / "outside.jsonl")}):
        with pytest.raises(TaleError) as info:
            bench_job.load_source(source)
        assert SECRET not in str(info.value)


def test_switched_off(fake_env, tree, monkeypatch):
    monkeypatch.setenv("TALE_SERVER_FILES", "off")
    at = new_app(PAGE)
    no_exception(at)
    assert "File on the server" not in at.radio(key="bm_source").options
    with pytest.raises(TaleError, match="switched off"):
        bench_job.load_source({"source": "path", "path": "good.jsonl"})
