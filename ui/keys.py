"""Where provider keys come from in the app: a key typed in this session, app secrets, the environment.

A key typed into the sidebar lives only in ``st.session_state`` (this browser session, this process):
it is never written to disk, the database or a log. ``st.secrets`` raises when no secrets file exists,
so every read of it is wrapped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import streamlit as st

from tale_core.errors import TaleError
from tale_core.settings import parse_endpoints

#: names the app reads from secrets / the environment (values are never displayed)
KEY_NAMES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
URL_NAMES = ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL")
SESSION_PREFIX = "_key_"


def secret(name: str) -> str | None:
    """A value from ``.streamlit/secrets.toml``, or None when there is no secrets file or no such key."""
    try:
        value = st.secrets.get(name)
    except Exception:  # no secrets file, unreadable file, ...
        return None
    return str(value) if value else None


def session_key(name: str) -> str | None:
    """A key typed into the sidebar in this session (None when none was typed)."""
    value = st.session_state.get(SESSION_PREFIX + name)
    value = (value or "").strip()
    return value or None


def set_session_key(name: str, value: str | None) -> None:
    st.session_state[SESSION_PREFIX + name] = (value or "").strip()


def key_source(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """Where the key in use comes from: "typed in this session", "app secrets", "environment" or None."""
    env = os.environ if env is None else env
    if session_key(name):
        return "typed in this session"
    if secret(name):
        return "app secrets"
    if env.get(name):
        return "environment"
    return None


def effective_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the providers see: process env, overlaid with app secrets, then session keys.

    A key typed in this session wins over secrets, which win over the environment: the user typed it on
    purpose. Endpoint keys named by ``api_key_env`` are looked up in this mapping too.
    """
    out = dict(os.environ if env is None else env)
    for name in KEY_NAMES + URL_NAMES:
        value = secret(name)
        if value:
            out[name] = value
    for name in KEY_NAMES:
        value = session_key(name)
        if value:
            out[name] = value
    _host_endpoints_from_secrets(out)
    return out


def _host_endpoints_from_secrets(out: dict[str, str]) -> None:
    """Endpoints the host put in app secrets (``TALE_ENDPOINTS``, JSON text or a list of tables), and the
    secrets their ``api_key_env`` names. Only host-written config names a variable: a visitor never can."""
    raw: object = None
    try:
        raw = st.secrets.get("TALE_ENDPOINTS")
    except Exception:  # no secrets file
        return
    if not raw:
        return
    if not isinstance(raw, str):
        try:
            raw = json.dumps([dict(x) for x in raw])  # type: ignore[union-attr]
        except (TypeError, ValueError):
            return
    out["TALE_ENDPOINTS"] = raw
    try:
        names = [ep.api_key_env for ep in parse_endpoints(raw).values() if ep.api_key_env]
    except TaleError:
        return  # the sidebar reports the bad JSON
    for name in names:
        value = secret(name)
        if value:
            out[name] = value
