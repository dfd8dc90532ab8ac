"""The sidebar every page shares: model picker with readiness, session-only keys, custom endpoints, spend.

``render_sidebar()`` runs in app.py before the page; pages read its result with :func:`current`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from tale_core.errors import TaleError
from tale_core.providers import ModelStatus, list_models
from tale_core.providers.scripted import SIMULATED_SPEC
from tale_core.redact import public_url
from tale_core.settings import Endpoint, ProviderSettings

from . import fmt, hosted, keys, prices, render, services
from .state import spend_meter

MODELS_KEY = "models"
ENDPOINTS_KEY = "_endpoints"
#: keys typed for the session's own endpoints, by endpoint name (session memory only, never stored)
ENDPOINT_KEYS_KEY = "_endpoint_keys"
STATE_KEY = "_sidebar_state"
MAX_MODELS = 4


@dataclass
class SidebarState:
    """What the pages need from the sidebar."""

    settings: ProviderSettings
    statuses: list[ModelStatus]
    #: specs the user picked that are ready to call, in the order picked
    models: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: the sidebar placeholder that shows the session's spend (redrawn after the page ran)
    spend_slot: object = None

    def status(self, spec: str) -> ModelStatus | None:
        return next((s for s in self.statuses if s.spec == spec), None)


def build_settings() -> tuple[ProviderSettings, list[str]]:
    """Provider settings from env + app secrets + keys and endpoints typed in this session.

    Where a custom endpoint's key may come from: what the visitor typed for it in this session, or, for an
    endpoint the host configured (``TALE_ENDPOINTS``), the variable the host named. An endpoint added in the
    sidebar can never name a server variable, and cannot replace an endpoint the host configured.
    """
    problems: list[str] = []
    env = keys.effective_env()
    try:
        settings = ProviderSettings.from_env(env)
    except TaleError as e:  # bad TALE_ENDPOINTS in the environment: keep going without them
        problems.append(f"Ignoring endpoints from the environment: {e}")
        env = {k: v for k, v in env.items() if k not in ("TALE_ENDPOINTS", "TALE_ENDPOINTS_FILE")}
        settings = ProviderSettings.from_env(env)
    hosted = set(settings.endpoints)
    typed_keys: dict = st.session_state.get(ENDPOINT_KEYS_KEY) or {}
    for d in (st.session_state.get(ENDPOINTS_KEY) or {}).values():
        try:
            ep = Endpoint.from_dict({**d, "api_key_env": None})  # never a server variable
        except (TaleError, KeyError) as e:
            problems.append(str(e))
            continue
        if ep.name in hosted:
            problems.append(f"compat:{ep.name} is configured by the host: the endpoint added here is ignored.")
            continue
        settings.endpoints[ep.name] = ep
        if typed_keys.get(ep.name):
            settings.endpoint_keys[ep.name] = str(typed_keys[ep.name])
    for attr in ("concurrency", "timeout_s"):  # chosen under "API calls" in this session
        v = st.session_state.get(f"sb_{attr}")
        if v:
            setattr(settings, attr, type(getattr(settings, attr))(v))
    for value in settings.secret_values():  # every key in use is scrubbed from anything saved
        services.protect_secret(value)
    return settings, problems


def _call_inputs(settings: ProviderSettings) -> None:
    with st.sidebar.expander("API calls"):
        st.number_input(
            "Calls at once per provider",
            min_value=1,
            max_value=256,
            value=int(settings.concurrency),
            key="sb_concurrency",
            help="The most API calls running at once per provider and key, shared by every session of this "
            "app (the newest setting wins). It backs off by itself when the provider answers 429 and grows "
            "back while calls succeed.",
        )
        st.number_input(
            "Timeout per call (s)",
            min_value=5,
            max_value=3600,
            value=int(settings.timeout_s),
            key="sb_timeout_s",
            help="Long calls are streamed: this bounds the silence between pieces, not the whole answer.",
        )


def default_models(statuses: list[ModelStatus]) -> list[str]:
    """First pick: the local model that shows elasticity, else a scripted fake (the simulated demo when
    test models are off), else SmolLM2."""
    ready = [s.spec for s in statuses if s.available]
    # no real model that shows the effect: the SIMULATED demo (labelled so) rather than SmolLM2, whose
    # answers are all wrong and which ignores budgets
    for spec in ("local/qwen2.5-coder-1.5b", "fake/elastic", SIMULATED_SPEC, "local/smollm2"):
        if spec in ready:
            return [spec]
    return ready[:1]


def _label(status: ModelStatus) -> str:
    if status.spec == SIMULATED_SPEC:
        return f"{status.spec} (SIMULATED demo, no key)"
    return status.spec if status.available else f"{status.spec} ({status.reason})"


def _models_from_query(options: list[str]) -> list[str] | None:
    raw = st.query_params.get("models")
    if not raw:
        return None
    picked = [m.strip() for m in str(raw).split(",") if m.strip() in options]
    return picked or None


def _model_picker(statuses: list[ModelStatus]) -> tuple[list[str], list[str]]:
    options = [s.spec for s in statuses]
    by_spec = {s.spec: s for s in statuses}
    current = st.session_state.get(MODELS_KEY)
    if current is None:
        st.session_state[MODELS_KEY] = _models_from_query(options) or default_models(statuses)
    else:  # options can shrink (an endpoint removed): keep only what still exists
        st.session_state[MODELS_KEY] = [m for m in current if m in options]
    picked = st.sidebar.multiselect(
        "Models",
        options,
        key=MODELS_KEY,
        max_selections=MAX_MODELS,
        format_func=lambda spec: _label(by_spec[spec]) if spec in by_spec else spec,
        help="Models not ready yet say why, e.g. a missing API key. Keys typed below stay in this session.",
        placeholder="Pick one or more models",
    )
    ready, warnings = [], []
    for spec in picked:
        s = by_spec[spec]
        if s.available:
            ready.append(spec)
            if s.info.note:
                st.sidebar.caption(render.md_escape(f"{spec}: {s.info.note}"))
        else:
            warnings.append(f"{spec} is not ready: {s.reason}.")
    for w in warnings:
        st.sidebar.warning(render.md_escape(w))
    if not picked:
        st.sidebar.info("Pick at least one model to run anything.")
    return ready, warnings


def _key_inputs() -> None:
    with st.sidebar.expander("API keys (this session only)"):
        st.caption("Keys typed here live in this browser session's memory only: never saved or logged.")
        for name, label in (("OPENAI_API_KEY", "OpenAI API key"), ("ANTHROPIC_API_KEY", "Anthropic API key")):
            st.text_input(label, type="password", key=keys.SESSION_PREFIX + name, placeholder="not set")
            source = keys.key_source(name)
            st.caption(f"{label}: {'in use, ' + source if source else 'none'}")


def _endpoint_form() -> None:
    endpoints: dict = st.session_state.setdefault(ENDPOINTS_KEY, {})
    typed_keys: dict = st.session_state.setdefault(ENDPOINT_KEYS_KEY, {})
    with st.sidebar.expander("Custom OpenAI-compatible endpoint", expanded="_endpoint_flash" in st.session_state):
        with st.form("endpoint_form", clear_on_submit=False, border=False):
            name = st.text_input("Name", placeholder="ollama", help="Lowercase letters, digits, - _ .")
            base_url = st.text_input("Base URL", placeholder="http://127.0.0.1:11434/v1")
            models = st.text_input("Model names (comma separated)", placeholder="llama3.2, qwen2.5")
            key = st.text_input(
                "API key (optional, this session only)",
                type="password",
                placeholder="not needed for most local servers",
                help="Kept in this browser session's memory only: never saved, logged or shown.",
            )
            submitted = st.form_submit_button("Add endpoint")
        if submitted:
            model_list = tuple(m.strip() for m in models.split(",") if m.strip())
            try:
                if not model_list:
                    raise TaleError("List at least one model name.")
                ep = Endpoint(name=name.strip(), base_url=base_url.strip().rstrip("/"), models=model_list)
                if ep.name in _host_endpoint_names():
                    raise TaleError(f"compat:{ep.name} is configured by the host: pick another name.")
            except TaleError as e:
                st.error(render.md_text(str(e)))
            else:
                endpoints[ep.name] = ep.to_dict()
                if key.strip():
                    typed_keys[ep.name] = key.strip()
                    services.protect_secret(key.strip())
                else:
                    typed_keys.pop(ep.name, None)
                st.session_state["_endpoint_flash"] = (
                    f"Added compat:{ep.name} with {len(model_list)} model(s): pick them under Models."
                )
                st.rerun()  # the model picker above must list the new models
        flash = st.session_state.pop("_endpoint_flash", None)
        if flash:
            st.success(render.md_escape(flash))
        for ep_name in list(endpoints):
            c1, c2 = st.columns([3, 1])
            c1.text(f"compat:{ep_name} - {public_url(str(endpoints[ep_name]['base_url']))}")
            if c2.button("Remove", key=f"rm_ep_{ep_name}"):
                endpoints.pop(ep_name, None)
                typed_keys.pop(ep_name, None)
                st.rerun()


def _host_endpoint_names() -> set[str]:
    try:
        return set(ProviderSettings.from_env(keys.effective_env()).endpoints)
    except TaleError:
        return set()


def _draw_spend(slot) -> None:
    meter = spend_meter()
    note = f"{meter.calls} paid call(s), {meter.cache_hits} free from cache"
    if meter.unpriced_calls:
        note += f", {meter.unpriced_calls} without a known price"
    with slot.container():
        st.metric("Spent this session", fmt.usd(meter.total_usd))
        st.caption(note)
        st.caption(render.md_escape(f"Costs are usage x list prices from {price_table()}."))


def price_table() -> str:
    """The dated price table costs come from (shown beside every money figure's source)."""
    try:
        from tale_core.accounting.pricing import price_table_version

        return price_table_version()
    except Exception:
        return "an unknown price table"


def refresh_spend(state: SidebarState) -> None:
    """Redraw the spend figure after the page ran (app.py calls this last)."""
    slot = state.spend_slot
    if slot is not None:
        try:
            _draw_spend(slot)
        except Exception:  # the slot belongs to an earlier run: it is redrawn next run anyway
            pass


def render_sidebar() -> SidebarState:
    """Draw the shared sidebar and remember its state for the page that runs next."""
    settings, problems = build_settings()
    try:
        statuses = list_models(settings)
    except TaleError as e:
        problems.append(str(e))
        statuses = []
    for p in problems:
        st.sidebar.error(render.md_escape(p))
    ready, warnings = _model_picker(statuses)
    _key_inputs()
    if hosted.endpoints_allowed():  # hosted mode: the server would call any address a visitor types
        _endpoint_form()
    _call_inputs(settings)
    prices.editor(statuses)  # also loads the saved prices for this run
    slot = st.sidebar.empty()
    _draw_spend(slot)
    state = SidebarState(
        settings=settings, statuses=statuses, models=ready, problems=problems + warnings, spend_slot=slot
    )
    st.session_state[STATE_KEY] = state
    return state


def current() -> SidebarState:
    """The sidebar state of this run (rebuilt without drawing when a page runs on its own)."""
    state = st.session_state.get(STATE_KEY)
    if isinstance(state, SidebarState):
        return state
    settings, problems = build_settings()
    statuses = list_models(settings)
    return SidebarState(settings, statuses, default_models(statuses), problems)
