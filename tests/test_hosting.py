"""Hosted mode's policy (tale_core.hosting): settings, access code, offered models, own keys, rate limits,
spend caps per visitor and in total, the host's bypass, and the owner-token hash."""

from __future__ import annotations

import pytest

from tale_core.errors import TaleError
from tale_core.hosting import Decision, HostedPolicy, Usage, decide, hash_token, model_problems, same_secret

ON = {"TALE_HOSTED": "1"}
PAID = "openai/gpt-4o-mini"


def pol(**settings: str) -> HostedPolicy:
    return HostedPolicy.from_settings({**ON, **settings})


def test_off_unless_the_one_setting_says_so():
    assert HostedPolicy.from_settings({}).enabled is False
    assert HostedPolicy.from_settings({"TALE_HOSTED": "0", "TALE_ACCESS_CODE": "x"}).enabled is False
    for v in ("1", "true", "YES", " on "):
        assert HostedPolicy.from_settings({"TALE_HOSTED": v}).enabled is True
    # local mode allows anything, whatever the usage
    d = decide(HostedPolicy(), Usage(99, 99, 99, 99), [PAID])
    assert d == Decision(True)


def test_settings_are_read_and_bad_values_refused():
    p = pol(
        TALE_HOSTED_MODELS="openai/gpt-4o-mini, local/*",
        TALE_VISITOR_CAP_USD="0.25",
        TALE_TOTAL_CAP_USD="3",
        TALE_VISITOR_RUNS_PER_HOUR="4",
        TALE_TOTAL_RUNS_PER_HOUR="9",
        TALE_ACCESS_CODE="class-42",
        TALE_ADMIN_PASSWORD="pw",
        TALE_HOSTED_ENDPOINTS="yes",
    )
    assert p.host_models == ("openai/gpt-4o-mini", "local/*")
    assert (p.visitor_cap_usd, p.total_cap_usd, p.visitor_runs_per_hour, p.total_runs_per_hour) == (0.25, 3.0, 4, 9)
    assert (p.access_code, p.admin_password, p.allow_endpoints) == ("class-42", "pw", True)
    defaults = pol()
    assert defaults.host_models == ("local/*", "fake/*") and defaults.allow_endpoints is False
    for name, bad in (
        ("TALE_VISITOR_CAP_USD", "lots"),
        ("TALE_TOTAL_CAP_USD", "-1"),
        ("TALE_TOTAL_CAP_USD", "nan"),
        ("TALE_VISITOR_RUNS_PER_HOUR", "2.5"),
        ("TALE_TOTAL_RUNS_PER_HOUR", "-3"),
    ):
        with pytest.raises(TaleError, match=name):
            pol(**{name: bad})


def test_access_code_gates_every_run_until_entered():
    p = pol(TALE_ACCESS_CODE="class-42")
    d = decide(p, Usage(), ["fake/elastic"])
    assert not d.allowed and "access code" in d.reason
    assert decide(p, Usage(), ["fake/elastic"], code_ok=True).allowed
    assert same_secret(" class-42 ", "class-42") and not same_secret("class-41", "class-42")
    assert not same_secret("", "") and not same_secret("x", None)


def test_only_offered_models_run_on_the_hosts_keys_unless_the_visitor_brings_a_key():
    p = pol(TALE_HOSTED_MODELS="openai/gpt-4o-mini,local/*")
    assert decide(p, Usage(), [PAID]).allowed
    refused = decide(p, Usage(), ["openai/gpt-4o", "local/smollm2"])
    assert not refused.allowed and "does not offer openai/gpt-4o" in refused.reason
    assert model_problems(p, ["anthropic/claude-3-5-haiku"], ()) != []
    own = decide(p, Usage(), ["openai/gpt-4o"], own_key_providers={"openai"})
    assert own.allowed and own.host_paid is False and own.cap_usd is None
    assert not decide(pol(), Usage(), ["compat:mine/llama"]).allowed  # endpoints are not offered by default


def test_rate_limit_per_visitor_and_in_total():
    p = pol(TALE_VISITOR_RUNS_PER_HOUR="3", TALE_TOTAL_RUNS_PER_HOUR="10")
    assert decide(p, Usage(visitor_runs_last_hour=2, total_runs_last_hour=9), ["fake/elastic"]).allowed
    mine = decide(p, Usage(visitor_runs_last_hour=3, total_runs_last_hour=3), ["fake/elastic"])
    assert not mine.allowed and "3 run(s) in the last hour" in mine.reason and "3 per visitor" in mine.reason
    everyone = decide(p, Usage(visitor_runs_last_hour=0, total_runs_last_hour=10), ["fake/elastic"])
    assert not everyone.allowed and "10 per hour" in everyone.reason
    # the rate limit also holds for runs on the visitor's own key
    assert not decide(p, Usage(visitor_runs_last_hour=3), [PAID], own_key_providers={"openai"}).allowed
    assert not decide(pol(TALE_VISITOR_RUNS_PER_HOUR="0"), Usage(), ["fake/elastic"]).allowed


def test_spend_caps_per_visitor_and_in_total_and_the_run_gets_what_is_left():
    p = pol(TALE_HOSTED_MODELS=PAID, TALE_VISITOR_CAP_USD="0.50", TALE_TOTAL_CAP_USD="2")
    d = decide(p, Usage(visitor_spent_usd=0.20, total_spent_usd=1.0), [PAID])
    assert d.allowed and d.host_paid and d.cap_usd == pytest.approx(0.30)
    assert d.clamp(None) == pytest.approx(0.30) and d.clamp(0.0) == pytest.approx(0.30)
    assert d.clamp(0.1) == 0.1 and d.clamp(5.0) == pytest.approx(0.30)
    # the total's rest is smaller than the visitor's: the total wins
    assert decide(p, Usage(0.0, 1.9), [PAID]).cap_usd == pytest.approx(0.1)
    mine = decide(p, Usage(visitor_spent_usd=0.5, total_spent_usd=0.5), [PAID])
    assert not mine.allowed and "Spend cap reached" in mine.reason and "$0.50" in mine.reason
    everyone = decide(p, Usage(visitor_spent_usd=0.0, total_spent_usd=2.0), [PAID])
    assert not everyone.allowed and "in total" in everyone.reason
    too_big = decide(p, Usage(), [PAID], estimate_usd=0.75)
    assert not too_big.allowed and "estimated at $0.7500" in too_big.reason
    # free models and own keys are not capped by the host's money
    assert decide(pol(), Usage(visitor_spent_usd=9, total_spent_usd=99), ["fake/elastic"]).allowed
    assert decide(p, Usage(visitor_spent_usd=9), [PAID], own_key_providers={"openai"}).allowed


def test_the_host_bypasses_code_models_limits_and_caps():
    p = pol(TALE_ACCESS_CODE="c", TALE_HOSTED_MODELS="local/*", TALE_VISITOR_RUNS_PER_HOUR="0")
    d = decide(p, Usage(99, 99, 99, 99), ["openai/gpt-4o"], is_admin=True)
    assert d.allowed and d.cap_usd is None and d.clamp(None) is None


def test_owner_token_is_stored_only_as_a_hash():
    token = "x" * 43
    h = hash_token(token)
    assert len(h) == 64 and token not in h and h == hash_token(token) and h != hash_token(token + "y")
