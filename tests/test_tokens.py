"""Offline tiktoken: encodings build from bpe-openai's hash-checked files with the network unreachable."""

from __future__ import annotations

import gzip
import socket
import threading

import pytest

from tale_core.accounting import tokens


@pytest.fixture
def no_network(monkeypatch):
    """Any connection attempt at all (even loopback) fails, so a download would be caught."""

    def refuse(*a, **k):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def fresh_cache(monkeypatch):
    monkeypatch.setattr(tokens, "_cache", {})


def test_cl100k_known_ids_offline(no_network, fresh_cache):
    enc = tokens.get_encoding("cl100k_base")
    # tiktoken's README example: "hello world" -> [15339, 1917] in cl100k_base
    assert enc.encode("hello world") == [15339, 1917]
    assert enc.decode([15339, 1917]) == "hello world"
    assert enc.n_vocab == 100277
    assert enc.encode("<|endoftext|>", allowed_special="all") == [100257]


def test_o200k_known_ids_offline(no_network, fresh_cache):
    enc = tokens.get_encoding("o200k_base")
    assert enc.encode("hello world") == [24912, 2375]
    assert enc.encode("Hello, world!") == [13225, 11, 2375, 0]
    assert enc.encode("<|endoftext|>", allowed_special="all") == [199999]
    assert enc.n_vocab == 200019


def test_plain_tiktoken_works_after_loading(no_network):
    import tiktoken

    enc = tokens.get_encoding("o200k_base")
    assert tiktoken.get_encoding("o200k_base").encode("hello world") == enc.encode("hello world")


def test_constructor_args_match_installed_tiktoken(monkeypatch):
    """Our regex and special tokens are exactly those of tiktoken_ext.openai_public."""
    from tiktoken_ext import openai_public

    seen = {}

    def fake_load(url, expected_hash=None):
        seen[url.rsplit("/", 1)[-1]] = expected_hash
        return {}

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", fake_load)
    for name, spec in tokens.ENCODING_SPECS.items():
        ctor = openai_public.ENCODING_CONSTRUCTORS[name]()
        assert ctor["pat_str"] == spec.pat_str
        assert ctor["special_tokens"] == spec.special_tokens
        assert seen[f"{name}.tiktoken"] == spec.sha256


def test_corrupted_rank_file_is_refused(monkeypatch, tmp_path, fresh_cache):
    (tmp_path / "cl100k_base.tiktoken.gz").write_bytes(gzip.compress(b"aGVsbG8= 0\n"))
    monkeypatch.setattr(tokens, "_data_dir", lambda: tmp_path)
    with pytest.raises(tokens.TokenizerError, match="sha256"):
        tokens.get_encoding("cl100k_base")
    (tmp_path / "cl100k_base.tiktoken.gz").write_bytes(b"not gzip")
    with pytest.raises(tokens.TokenizerError, match="gzip"):
        tokens.get_encoding("cl100k_base")
    monkeypatch.setattr(tokens, "_data_dir", lambda: None)
    with pytest.raises(tokens.TokenizerError, match="bpe-openai"):
        tokens.get_encoding("cl100k_base")


def test_unknown_encoding_is_a_clear_error():
    with pytest.raises(tokens.TokenizerError, match="Unknown encoding"):
        tokens.get_encoding("p50k_base")


@pytest.mark.parametrize(
    "model,expected",
    [
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4o", "o200k_base"),
        ("gpt-4.1-mini", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("gpt-5-mini", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("openai/gpt-4o-mini", "o200k_base"),
        ("claude-haiku-4-5", "o200k_base"),
        ("smollm2", "o200k_base"),
        ("", "o200k_base"),
        ("text-davinci-003", "cl100k_base"),
    ],
)
def test_encoding_for_model(model, expected):
    assert tokens.encoding_name_for_model(model) == expected
    assert tokens.encoding_for_model(model).name == expected


def test_estimate_tokens(no_network):
    assert tokens.estimate_tokens("", "gpt-4o") == 0
    assert tokens.estimate_tokens("hello world", "gpt-4") == 2
    assert tokens.estimate_tokens("hello world", "claude-sonnet-4-5") == 2
    # special-token text in user input is counted as text, never rejected
    assert tokens.estimate_tokens("<|endoftext|>", "gpt-4o") > 1


def test_thread_safe_single_build(fresh_cache, monkeypatch):
    builds = []
    real = tokens._read_ranks

    def counting(spec):
        builds.append(spec.name)
        return real(spec)

    monkeypatch.setattr(tokens, "_read_ranks", counting)
    got = []
    threads = [threading.Thread(target=lambda: got.append(tokens.get_encoding("cl100k_base"))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert builds == ["cl100k_base"]
    assert len(got) == 6 and all(e is got[0] for e in got)
