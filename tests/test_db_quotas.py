"""Hosted mode's persistence: owners of experiments, the owner filter of the list, and the run ledger that
rate limits and spend caps are read from (cache hits free, own-key runs not host-paid, deleting a run
never gives its spend back, the hour window)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from db import owners, quotas
from db.models import HostedRun
from db.rows import now
from tale_core.hosting import hash_token
from tests.helpers_db import make_record

A, B = hash_token("a" * 43), hash_token("b" * 43)


def _run(store, owner, *, host_paid=True, costs=(0.01,), cache_hit_cost=None):
    rid = quotas.record_run(store, owner, "sweep", host_paid=host_paid)
    eid = store.create_experiment("sweep", f"run of {owner[:6]}")
    owners.set_owner(store, eid, owner)
    quotas.attach(store, rid, eid)
    for i, c in enumerate(costs):
        store.record_call(eid, make_record(cost=c, cell_id=f"c{i}"))
    if cache_hit_cost is not None:
        store.record_call(eid, make_record(cost=cache_hit_cost, cell_id="hit", cache_hit=True))
    return eid


def test_owner_filter_lists_and_counts_only_that_owners_experiments(store):
    a = _run(store, A)
    b = _run(store, B)
    local = store.create_experiment("playground", "made in local mode")
    everyone = {e.id for e in store.list_experiments()}
    assert {a, b, local} <= everyone and store.count_experiments() == 3  # the default is unchanged
    assert [e.id for e in store.list_experiments(owner_hash=A)] == [a]
    assert store.count_experiments(owner_hash=B) == 1
    assert store.count_experiments(search="run of", owner_hash=A) == 1
    assert owners.owner_of(store, a) == A and owners.owner_of(store, local) is None
    assert owners.is_owner(store, a, A) and not owners.is_owner(store, a, B)
    assert not owners.is_owner(store, local, None) and not owners.is_owner(store, "nope", A)


def test_spend_is_read_from_calls_without_cache_hits_and_only_for_host_paid_runs(store):
    _run(store, A, costs=(0.01, 0.02), cache_hit_cost=5.0)
    _run(store, A, host_paid=False, costs=(1.0,))  # the visitor's own key
    _run(store, B, costs=(0.10,))
    use = quotas.usage(store, A)
    assert use.visitor_spent_usd == pytest.approx(0.03)
    assert use.total_spent_usd == pytest.approx(0.13)
    assert (use.visitor_runs_last_hour, use.total_runs_last_hour) == (2, 3)


def test_deleting_an_experiment_keeps_its_spend_in_the_ledger(store):
    eid = _run(store, A, costs=(0.04,))
    assert quotas.delete_experiment(store, eid) is True
    assert not store.exists(eid)
    use = quotas.usage(store, A)
    assert use.visitor_spent_usd == pytest.approx(0.04) and use.total_spent_usd == pytest.approx(0.04)
    assert use.visitor_runs_last_hour == 1


def test_runs_older_than_an_hour_leave_the_rate_limit_but_not_the_spend(store):
    _run(store, A, costs=(0.05,))
    quotas.record_run(store, A, "playground", host_paid=False)
    with store._write.begin() as s:
        s.execute(update(HostedRun.__table__).values(created_at=now() - timedelta(hours=2)))
    use = quotas.usage(store, A)
    assert use.visitor_runs_last_hour == 0 and use.visitor_spent_usd == pytest.approx(0.05)
    assert quotas.forget_older_than(store, days=0.01) == 1  # the unpaid one; the paid one carries spend
    assert quotas.usage(store, A).visitor_spent_usd == pytest.approx(0.05)


def test_a_run_gated_but_never_attached_counts_for_the_rate_limit_only(store):
    quotas.record_run(store, A, "sweep", host_paid=True)
    use = quotas.usage(store, A)
    assert use.visitor_runs_last_hour == 1 and use.visitor_spent_usd == 0.0


def test_a_resumed_experiment_is_counted_once_after_delete(store):
    eid = _run(store, A, costs=(0.04,))
    again = quotas.record_run(store, A, "sweep", host_paid=True)  # the resume: a second run on it
    quotas.attach(store, again, eid)
    store.record_call(eid, make_record(cost=0.01, cell_id="late"))
    assert quotas.usage(store, A).visitor_spent_usd == pytest.approx(0.05)
    quotas.delete_experiment(store, eid)
    use = quotas.usage(store, A)
    assert use.visitor_spent_usd == pytest.approx(0.05) and use.visitor_runs_last_hour == 2
