"""Hosted mode in the app: the owner token, the gate every run passes, ownership checks, the sidebar panel.

Local single-user mode (no ``TALE_HOSTED``) is untouched: every function here then allows everything and
draws nothing. The rules themselves are in :mod:`tale_core.hosting`; the ledger in :mod:`db.quotas`.

The owner token
---------------
Each browser gets a random token (256 bits) the first time it opens the app. Streamlit cannot set a cookie
from Python, so a tiny inline script (``st.html`` with JavaScript, our own constant text) writes it as the cookie
``tale_owner`` (``SameSite=Strict``, one year, ``Secure`` on https); the next page load sends it back and
``st.context.cookies`` reads it. Within one session the token is kept in ``st.session_state``, so the
first visit works before any reload. Only its SHA-256 is stored (``experiments.owner_hash``). The token
never goes into a URL: a shared link carries only the experiment id, so it opens read-only for anyone
else. Clearing cookies (or another browser) is a new visitor: experiments made before are then
reachable only by their links (or by the host).
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets as _secrets
from collections.abc import Iterable, Sequence
from typing import Any

import streamlit as st

from tale_core.errors import TaleError
from tale_core.hosting import Decision, HostedPolicy, decide, hash_token, same_secret
from tale_core.settings import ProviderSettings

from . import keys

COOKIE = "tale_owner"
TOKEN_KEY = "_hosted_owner_token"
ADMIN_KEY = "_hosted_admin"
CODE_OK_KEY = "_hosted_code_ok"
FAILS_KEY = "_hosted_failed_attempts"
PENDING_KEY = "_hosted_pending_run"
MAX_ATTEMPTS = 5
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,100}$")
#: a run the host refused for a bad setting: no model may run, nothing is spent
_CLOSED = HostedPolicy(
    enabled=True,
    host_models=(),
    visitor_cap_usd=0.0,
    total_cap_usd=0.0,
    visitor_runs_per_hour=0,
    total_runs_per_hour=0,
)


def _setting(name: str) -> str | None:
    """A hosted-mode setting: app secrets first, then the environment."""
    return keys.secret(name) or os.environ.get(name) or None


def policy() -> tuple[HostedPolicy, str]:
    """(the policy, "") or (a closed policy, why) when a setting is wrong."""
    try:
        return HostedPolicy.from_settings(_setting), ""
    except TaleError as e:
        return _CLOSED, f"Hosted mode is misconfigured, so nothing can run: {e}"


def enabled() -> bool:
    return policy()[0].enabled


# ---------------------------------------------------------------- owner token


def _cookie_token() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no request context (AppTest, bare scripts)
        return None
    return value if isinstance(value, str) and _TOKEN_RE.match(value) else None


def owner_token() -> str:
    """This browser's owner token (made and remembered on first use)."""
    token = st.session_state.get(TOKEN_KEY)
    if not isinstance(token, str) or not _TOKEN_RE.match(token):
        token = _cookie_token() or _secrets.token_urlsafe(32)
        st.session_state[TOKEN_KEY] = token
    return token


def owner_hash() -> str:
    return hash_token(owner_token())


def _write_cookie() -> None:
    """Have the browser keep the token as a cookie until the page load that sends it back."""
    token = owner_token()
    if _cookie_token() == token:
        return
    # the token is URL-safe base64 (checked above): nothing in it can break out of the string
    st.html(
        "<script>(function(){"
        f'var c="{COOKIE}={token}; path=/; max-age=31536000; SameSite=Strict";'
        "if(location.protocol==='https:'){c+='; Secure';}document.cookie=c;})();</script>",
        unsafe_allow_javascript=True,
    )


# ---------------------------------------------------------------- who may do what


def is_admin() -> bool:
    return bool(st.session_state.get(ADMIN_KEY)) and enabled()


def _store() -> Any | None:
    from . import services

    return services.get_store()


def list_filter() -> dict[str, Any]:
    """Extra arguments for ``Store.list_experiments`` / ``count_experiments``: a visitor sees only their own."""
    if not enabled() or is_admin():
        return {}
    return {"owner_hash": owner_hash()}


def can_edit(experiment_id: str | None) -> bool:
    """Whether this session may change (rename, annotate, delete, cancel) an experiment. Local mode: yes.
    Hosted: the host, or the browser that made it; anyone else opened it by link and reads it only."""
    if not enabled() or is_admin():
        return True
    store = _store()
    if store is None or not experiment_id:
        return False
    from db.owners import is_owner

    try:
        return is_owner(store, experiment_id, owner_hash())
    except Exception:
        return False


def paths_allowed() -> bool:
    """Server paths (the Benchmark's "file on the server") are off in hosted mode."""
    return not enabled()


def endpoints_allowed() -> bool:
    """Visitors may add their own endpoints only when the host allows it (the server would call them)."""
    p = policy()[0]
    return not p.enabled or p.allow_endpoints


def restrict_settings(settings: ProviderSettings) -> None:
    """Hosted mode: an endpoint a visitor added may not take its key from a server variable (the visitor
    names the variable; the server would send its value to the visitor's address). Host endpoints keep
    theirs. Changes ``settings`` in place; nothing in local mode."""
    if not enabled():
        return
    for name in st.session_state.get("_endpoints") or {}:
        ep = settings.endpoints.get(name)
        if ep is not None and ep.api_key_env:
            settings.endpoints[name] = dataclasses.replace(ep, api_key_env=None)


def _own_key_providers() -> set[str]:
    own = set()
    if keys.session_key("OPENAI_API_KEY"):
        own.add("openai")
    if keys.session_key("ANTHROPIC_API_KEY"):
        own.add("anthropic")
    if endpoints_allowed():  # endpoints the visitor added themselves run on their own servers
        own.update(f"compat:{name}" for name in st.session_state.get("_endpoints") or {})
    return own


# ---------------------------------------------------------------- the gate


def allow_run(kind: str, specs: Iterable[str], *, estimate_usd: float | None = None) -> Decision | None:
    """The gate every page calls before it starts anything that calls a model.

    Returns the decision (use ``decision.clamp(cap)`` as the run's spend cap) or None after showing why
    the run may not start. In local mode it always allows, with no cap.
    """
    pol, problem = policy()
    if not pol.enabled:
        return Decision(True)
    if problem:
        st.error(problem)
        return None
    store = _store()
    if store is None:
        st.error("This hosted app has no database, so runs cannot be counted: nothing can run.")
        return None
    specs = list(specs)
    admin = is_admin()
    from db import quotas

    try:
        use = quotas.usage(store, owner_hash())
    except Exception as e:  # fail closed: without the ledger there are no limits to enforce
        st.error(f"Could not read this visitor's usage, so nothing can run: {type(e).__name__}.")
        return None
    decision = decide(
        pol,
        use,
        specs,
        own_key_providers=_own_key_providers(),
        is_admin=admin,
        code_ok=bool(st.session_state.get(CODE_OK_KEY)),
        estimate_usd=estimate_usd,
    )
    if not decision.allowed:
        st.error(decision.reason)
        return None
    if not admin:
        st.session_state[PENDING_KEY] = quotas.record_run(store, owner_hash(), kind, host_paid=decision.host_paid)
    else:
        st.session_state[PENDING_KEY] = -1
    return decision


def allow_rerun(detail: Any) -> tuple[Any, Decision] | None:
    """The gate for rerunning a stored experiment: (the detail with its spend cap clamped, decision), or None
    after showing why not. Stored configurations may come from an imported bundle: in hosted mode one
    that reads a server file is refused."""
    cfg = dict(detail.config or {})
    if enabled() and (cfg.get("dataset") or {}).get("source") == "path":
        st.error("This benchmark read its questions from a file on the server: that is not possible in hosted mode.")
        return None
    decision = allow_run(detail.kind, specs_of(cfg))
    if decision is None:
        return None
    if decision.cap_usd is not None and detail.kind in ("sweep", "benchmark"):
        cfg["spend_cap_usd"] = decision.clamp(cfg.get("spend_cap_usd"))
        detail = dataclasses.replace(detail, config=cfg)
    return detail, decision


def require_permit() -> None:
    """Raise unless the gate let a run start in this session (hosted mode only): a page that forgot to call
    :func:`allow_run` fails loudly instead of spending the host's money."""
    if enabled() and PENDING_KEY not in st.session_state:
        raise TaleError("This run did not pass the hosted-mode gate, so it was not started.")


def claim(experiment_id: str, *, count_run: bool = True) -> None:
    """Hosted mode: mark a new experiment as this browser's and (``count_run``) link the run's ledger row to
    it; an imported experiment is owned but was no run."""
    if not enabled():
        return
    store = _store()
    if store is None:
        return
    from db import owners, quotas

    owners.set_owner(store, experiment_id, owner_hash())
    if not count_run:
        return
    run_id = st.session_state.pop(PENDING_KEY, None)
    if isinstance(run_id, int) and run_id >= 0:
        quotas.attach(store, run_id, experiment_id)


def count_run_on(experiment_id: str) -> None:
    """Hosted mode: a resumed run counts as a run of the experiment it fills (its owner does not change)."""
    if not enabled():
        return
    store = _store()
    run_id = st.session_state.pop(PENDING_KEY, None)
    if store is not None and isinstance(run_id, int) and run_id >= 0:
        from db import quotas

        quotas.attach(store, run_id, experiment_id)


def delete_experiment(store: Any, experiment_id: str) -> bool:
    """Delete, keeping its spend in the ledger (so deleting never resets a visitor's cap)."""
    from db import quotas

    return quotas.delete_experiment(store, experiment_id)


def share_note() -> str:
    if enabled():
        return "Anyone with this link can open this experiment read-only; only you (and the host) can change it."
    return "Anyone who can reach this app opens the same experiment with this link."


# ---------------------------------------------------------------- the sidebar panel


def _check_code(typed: str, expected: str | None, ok_key: str) -> None:
    fails = int(st.session_state.get(FAILS_KEY, 0))
    if fails >= MAX_ATTEMPTS:
        st.sidebar.error("Too many wrong attempts in this session.")
        return
    if same_secret(typed, expected):
        st.session_state[ok_key] = True
        st.session_state[FAILS_KEY] = 0
        st.rerun()
    else:
        st.session_state[FAILS_KEY] = fails + 1
        st.sidebar.error("That is not right.")


def _usage_lines(pol: HostedPolicy) -> list[str]:
    store = _store()
    if store is None:
        return []
    from db import quotas

    try:
        use = quotas.usage(store, owner_hash())
    except Exception:
        return []
    return [
        f"Host-paid spend: ${use.visitor_spent_usd:.4f} of your ${pol.visitor_cap_usd:.2f} "
        f"(measured: list price x reported tokens of your runs' calls; cache hits free).",
        f"Runs this hour: {use.visitor_runs_last_hour} of {pol.visitor_runs_per_hour}.",
    ]


def sidebar_panel() -> None:
    """What a visitor of a hosted app sees in the sidebar: the rules, their usage, the access code and the
    host's sign-in. Draws nothing in local mode."""
    pol, problem = policy()
    if not pol.enabled:
        return
    _write_cookie()
    if problem:
        st.sidebar.error(problem)
    admin = is_admin()
    with st.sidebar.expander("Hosted app: what you can do", expanded=bool(pol.access_code) and not admin):
        if admin:
            st.caption("Signed in as the host: you see every experiment and run without caps.")
            if st.button("Sign out", key="hosted_sign_out"):
                st.session_state.pop(ADMIN_KEY, None)
                st.rerun()
        else:
            st.caption(
                "You see the experiments made in this browser and those opened by link (read-only). "
                f"Models on the host's keys: {', '.join(pol.host_models) or 'none'}. Bring your own key above "
                "for others (it stays in this session)."
            )
            for line in _usage_lines(pol):
                st.caption(line)
            if pol.access_code and not st.session_state.get(CODE_OK_KEY):
                with st.form("hosted_code", border=False):
                    code = st.text_input("Access code", type="password", key="hosted_code_input")
                    if st.form_submit_button("Enter"):
                        _check_code(code, pol.access_code, CODE_OK_KEY)
            if pol.admin_password:
                with st.form("hosted_admin", border=False):
                    pw = st.text_input("Host password", type="password", key="hosted_admin_input")
                    if st.form_submit_button("Sign in as host"):
                        _check_code(pw, pol.admin_password, ADMIN_KEY)


def specs_of(config: dict[str, Any]) -> Sequence[str]:
    """The model specs a stored configuration runs on."""
    return [str(m) for m in config.get("models") or []] or ([str(config["model"])] if config.get("model") else [])
