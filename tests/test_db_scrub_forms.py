"""The scrubber knows every key in use and every form a key takes in text (issue 10's leaks)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

from db import scrub as scrub_mod
from db.scrub import REDACTED, clean_text, scrub

OLLAMA_VALUE = "ollama-key-not-named-like-a-key-8877"
ODD_VALUE = "odd/key+with=symbols&stuff-4433"


def test_key_in_a_variable_named_like_key_and_one_named_by_an_endpoint(monkeypatch):
    monkeypatch.setenv("OLLAMA_KEY", OLLAMA_VALUE)
    monkeypatch.setenv("WHATEVER_NAME", "endpoint-key-behind-a-plain-name-1122")
    monkeypatch.setenv(
        "TALE_ENDPOINTS",
        json.dumps(
            [
                {
                    "name": "lab",
                    "base_url": "http://bob:url-pass-word-3344@127.0.0.1:1/v1?token=tok-in-query-5566",
                    "models": ["m"],
                    "api_key_env": "WHATEVER_NAME",
                }
            ]
        ),
    )
    text = (
        f"server echoed {OLLAMA_VALUE}, endpoint-key-behind-a-plain-name-1122, url-pass-word-3344 and tok-in-query-5566"
    )
    out = clean_text(text)
    for needle in (OLLAMA_VALUE, "endpoint-key-behind", "url-pass-word", "tok-in-query"):
        assert needle not in out, out


def test_header_forms_any_case_and_url_encoded(monkeypatch):
    scrub_mod.register_secret(ODD_VALUE)
    try:
        basic = base64.b64encode(b"user:secret-pw-9911").decode()
        samples = [
            "authorization: bearer abc123def456ghi789",
            "AUTHORIZATION: BEARER abc123def456ghi789",
            f"Authorization: Basic {basic}",
            f"authorization: basic {basic}",
            "key=sk%2Dproj%2Dabcdefghijklmnopqrstuvwxyz012345",
            f"echo {quote(ODD_VALUE, safe='')} and {quote_plus(ODD_VALUE)} and {ODD_VALUE}",
            "see http://user:pw-in-url-123@example.test/v1?api_key=abcdef123456",
        ]
        for s in samples:
            out = clean_text(s)
            assert REDACTED in out, s
            for needle in ("abc123def456", basic, "abcdefghijklmnop", "symbols", "pw-in-url", "abcdef123456"):
                assert needle not in out, (s, out)
    finally:
        with scrub_mod._reg_lock:
            scrub_mod._registered.discard(ODD_VALUE)


def test_prose_is_left_alone():
    for s in (
        "Basic arithmetic: 3 + 4 = 7, so the answer is basic.",
        "The bearer of the note paid 12 dollars.",
        "x = 5 and y=6, so x + y = 11",
        "Peyton's http://example.test/page link",
    ):
        assert clean_text(s) == s


def test_secret_fields_and_nested_values():
    out = scrub({"headers": {"Authorization": "Basic abc", "x-api-key": "whatever"}, "note": "bearer tok3n-value-1"})
    assert out["headers"]["Authorization"] == REDACTED and out["headers"]["x-api-key"] == REDACTED
    assert "tok3n" not in out["note"]
