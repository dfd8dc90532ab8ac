"""Hosted mode in the app (AppTest): visitors see only their own experiments, a link opens read-only, the
access code gates running, the host's password shows everything, the spend cap stops a visitor with a
clear message, no server paths; local mode unchanged."""

from __future__ import annotations

import pytest

from db.store import Store
from tests.fakeservers import FakeOpenAI
from tests.helpers_app import button, captions, errors, new_app, no_exception
from ui import hosted

PAGE = "pages/experiments.py"
TOKEN_A, TOKEN_B = "A" * 43, "B" * 43


@pytest.fixture
def hosted_env(fake_env, monkeypatch):
    monkeypatch.setenv("TALE_HOSTED", "1")
    yield monkeypatch


def visitor(token: str, page: str | None = None, *, query: dict[str, str] | None = None, models=("fake/elastic",)):
    """An app session of the browser whose owner token is ``token``."""
    from streamlit.testing.v1 import AppTest

    from tests.helpers_app import APP, TIMEOUT

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state[hosted.TOKEN_KEY] = token
    at.session_state["models"] = list(models)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def playground_run(at, question="What is 6 times 7?"):
    at.switch_page("pages/playground.py").run()
    at.text_area(key="pg_question").input(question)
    at.text_input(key="pg_gold").input("42")
    at.session_state["pg_methods"] = ["vanilla"]
    if "pg_results" in at.session_state:
        del at.session_state["pg_results"]
    button(at, "Run").click().run()
    no_exception(at)
    return (at.session_state["pg_results"] if "pg_results" in at.session_state else {}).get("experiment")


def listed(at) -> str:
    return " ".join(captions(at))


def test_local_mode_is_unchanged(fake_env):
    at = new_app("pages/playground.py")
    eid = playground_run(at)
    assert eid
    other = new_app(PAGE)
    no_exception(other)
    assert "1 experiment(s), newest first." in captions(other)
    assert not [e for e in other.sidebar.expander if "Hosted" in e.label]
    detail = new_app(PAGE, query={"experiment": eid})
    assert not button(detail, "Save").disabled
    assert "Anyone who can reach this app" in " ".join(captions(detail))
    assert Store().list_experiments()[0].id == eid  # no owner needed to list in local mode


def test_visitors_see_only_their_own_experiments_and_links_open_read_only(hosted_env):
    a = visitor(TOKEN_A)
    eid = playground_run(a)
    assert eid
    mine = visitor(TOKEN_A, PAGE)
    assert "1 experiment(s), newest first." in listed(mine)
    b = visitor(TOKEN_B, PAGE)
    no_exception(b)
    assert any("No experiments yet" in i.value for i in b.info)

    link = visitor(TOKEN_B, PAGE, query={"experiment": eid})
    no_exception(link)
    assert any("read-only" in i.value for i in link.info)
    assert button(link, "Save").disabled
    assert not [x for x in link.button if x.label == "Delete this experiment"]
    assert "read-only" in " ".join(captions(link))
    # the owner's link is editable
    own = visitor(TOKEN_A, PAGE, query={"experiment": eid})
    assert not button(own, "Save").disabled
    assert [x for x in own.button if x.label == "Delete this experiment"]


def test_the_access_code_gates_running(hosted_env):
    hosted_env.setenv("TALE_ACCESS_CODE", "class-42")
    at = visitor(TOKEN_A)
    assert playground_run(at) is None
    assert any("access code" in e for e in errors(at))
    assert Store().count_experiments() == 0
    at.text_input(key="hosted_code_input").input("wrong")
    at.button(key="FormSubmitter:hosted_code-Enter").click().run()
    assert any("not right" in e for e in errors(at))
    at.text_input(key="hosted_code_input").input("class-42")
    at.button(key="FormSubmitter:hosted_code-Enter").click().run()
    assert playground_run(at)
    assert Store().count_experiments() == 1


def test_the_host_signs_in_and_sees_everything(hosted_env):
    hosted_env.setenv("TALE_ADMIN_PASSWORD", "host-pw")
    playground_run(visitor(TOKEN_A))
    playground_run(visitor(TOKEN_B))
    host = visitor("H" * 43, PAGE)
    assert any("No experiments yet" in i.value for i in host.info)
    host.text_input(key="hosted_admin_input").input("host-pw")
    host.button(key="FormSubmitter:hosted_admin-Sign in as host").click().run()
    no_exception(host)
    assert "2 experiment(s), newest first." in listed(host)


def test_a_visitor_hits_the_spend_cap_with_a_clear_message(hosted_env):
    with FakeOpenAI(api_key="sk-host") as srv:
        srv.default = srv.chat("6 x 7 = 42. Answer: [[42]]", prompt_tokens=1000, completion_tokens=1000)
        hosted_env.setenv("OPENAI_API_KEY", "sk-host")
        hosted_env.setenv("OPENAI_BASE_URL", srv.base_url)
        hosted_env.setenv("TALE_HOSTED_MODELS", "openai/gpt-4o-mini")
        hosted_env.setenv("TALE_VISITOR_CAP_USD", "0.0001")
        at = visitor(TOKEN_A, models=("openai/gpt-4o-mini",))
        assert playground_run(at)  # the first run fits under the cap, and spends more than it
        assert srv.count == 1
        assert playground_run(at, "How many legs do 3 spiders have?") is None
        msg = " ".join(errors(at))
        assert "Spend cap reached" in msg and "$0.00" in msg
        assert srv.count == 1  # nothing was sent for the refused run
        # another visitor still has their own cap
        b = visitor(TOKEN_B, models=("openai/gpt-4o-mini",))
        assert playground_run(b, "What is 5 times 9?")
        assert srv.count == 2


def test_no_server_paths_in_hosted_mode(hosted_env):
    at = visitor(TOKEN_A, "pages/benchmark.py")
    no_exception(at)
    assert "File on the server" not in at.radio(key="bm_source").options


def test_rate_limit_per_visitor_says_when_it_is_reached(hosted_env):
    hosted_env.setenv("TALE_VISITOR_RUNS_PER_HOUR", "1")
    at = visitor(TOKEN_A)
    assert playground_run(at)
    assert playground_run(at, "What is 5 times 9?") is None
    assert any("Rate limit" in e and "1 per visitor per hour" in e for e in errors(at))
    assert playground_run(visitor(TOKEN_B), "What is 5 times 9?")  # someone else is not limited by it


def test_a_bad_setting_refuses_every_run(hosted_env):
    hosted_env.setenv("TALE_VISITOR_CAP_USD", "lots")
    at = visitor(TOKEN_A)
    assert playground_run(at) is None
    assert any("misconfigured" in e and "TALE_VISITOR_CAP_USD" in e for e in errors(at))
    assert Store().count_experiments() == 0


def test_a_run_that_skipped_the_gate_is_refused(hosted_env):
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from tale_core.errors import TaleError
        from ui import services

        try:
            services.start_experiment("playground", "ungated", {})
        except TaleError as e:
            st.error(str(e))
        else:
            st.success("started")

    at = AppTest.from_function(script, default_timeout=60).run()
    assert any("did not pass the hosted-mode gate" in e for e in errors(at))
    assert Store().count_experiments() == 0


def test_rerun_of_a_link_makes_the_visitors_own_copy(hosted_env):
    eid = playground_run(visitor(TOKEN_A))
    b = visitor(TOKEN_B, PAGE, query={"experiment": eid})
    button(b, "Rerun").click().run()
    no_exception(b)
    store = Store()
    from db.owners import owner_of

    copies = [e for e in store.list_experiments() if e.parent_id == eid]
    assert len(copies) == 1 and owner_of(store, copies[0].id) == hosted.hash_token(TOKEN_B)
    assert owner_of(store, eid) == hosted.hash_token(TOKEN_A)


def test_rerun_that_reads_a_server_file_is_refused(hosted_env, tmp_path):
    secret_file = tmp_path / "questions.jsonl"
    secret_file.write_text('{"question": "q", "answer": "1"}\n')
    store = Store()
    eid = store.create_experiment(
        "benchmark",
        "reads a server file",
        {"dataset": {"source": "path", "path": str(secret_file)}, "models": ["fake/elastic"], "item_ids": ["1"]},
        status="done",
    )
    from db.owners import set_owner

    set_owner(store, eid, hosted.hash_token(TOKEN_A))
    at = visitor(TOKEN_A, PAGE, query={"experiment": eid})
    button(at, "Rerun").click().run()
    no_exception(at)
    assert any("file on the server" in e for e in errors(at))
    assert store.count_experiments() == 1


def test_only_the_owner_may_cancel_a_running_sweep(hosted_env):
    from ui.jobs import registry

    a = visitor(TOKEN_A, "pages/sweep.py", models=("fake/slow",))
    a.text_area(key="sw_question").input("What is 6 times 7?")
    a.text_input(key="sw_gold").input("42")
    a.text_input(key="sw_budget_list").input("5, 10, 20, 50, 100, 200, 400")
    a.number_input(key="sw_repeats").set_value(20)
    a.run()
    button(a, "Start sweep").click().run()
    no_exception(a)
    job_id = a.query_params["experiment"]
    job_id = job_id[0] if isinstance(job_id, list) else job_id
    try:
        assert registry().get(job_id).running
        b = visitor(TOKEN_B, "pages/sweep.py", query={"experiment": job_id})
        no_exception(b)
        assert not [x for x in b.button if x.label == "Cancel sweep"]
        own = visitor(TOKEN_A, "pages/sweep.py", query={"experiment": job_id})
        assert [x for x in own.button if x.label == "Cancel sweep"]
    finally:
        registry().cancel(job_id)
        registry().wait(job_id, 60)


def test_only_the_owner_may_resume_an_interrupted_run(hosted_env):
    from db.owners import set_owner

    store = Store()
    eid = store.create_experiment(
        "sweep",
        "stopped half-way",
        {"question": "What is 6 times 7?", "gold": "42", "models": ["fake/elastic"], "budgets": [10, 50]},
        status="cancelled",
    )
    set_owner(store, eid, hosted.hash_token(TOKEN_A))
    b = visitor(TOKEN_B, PAGE, query={"experiment": eid})
    no_exception(b)
    assert not [x for x in b.button if x.label == "Resume"]
    a = visitor(TOKEN_A, PAGE, query={"experiment": eid})
    assert [x for x in a.button if x.label == "Resume"]
