"""Hosted mode: the rules for visitors of a shared instance (pure policy, no Streamlit, no database).

One setting turns it on: ``TALE_HOSTED=1`` (environment or Streamlit secrets). The host then decides:

* ``TALE_HOSTED_MODELS``: which models visitors may use with the host's keys, as comma-separated
  patterns (``openai/gpt-4o-mini, local/*``). Default: the free local and scripted models only.
* ``TALE_VISITOR_CAP_USD`` / ``TALE_TOTAL_CAP_USD``: dollars of the host's keys one visitor / all
  visitors together may spend (defaults 0.50 and 10.00).
* ``TALE_VISITOR_RUNS_PER_HOUR`` / ``TALE_TOTAL_RUNS_PER_HOUR``: runs one visitor / all visitors may
  start in any hour (defaults 20 and 200).
* ``TALE_ACCESS_CODE``: optional code a visitor types before anything runs.
* ``TALE_ADMIN_PASSWORD``: the host's password; signed in, the host sees every experiment and runs
  without caps.
* ``TALE_HOSTED_ENDPOINTS=1``: let visitors add their own OpenAI-compatible endpoints (off by default:
  the server would make requests to any address a visitor types).

Everything here is a pure function of those settings and the usage numbers the caller reads from the
database, so it can be tested without a server. A bad setting raises :class:`TaleError` and the app
refuses every run until the host fixes it (fail closed).
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from tale_core.errors import TaleError

HOSTED = "TALE_HOSTED"
SETTING_NAMES = (
    HOSTED,
    "TALE_HOSTED_MODELS",
    "TALE_VISITOR_CAP_USD",
    "TALE_TOTAL_CAP_USD",
    "TALE_VISITOR_RUNS_PER_HOUR",
    "TALE_TOTAL_RUNS_PER_HOUR",
    "TALE_ACCESS_CODE",
    "TALE_ADMIN_PASSWORD",
    "TALE_HOSTED_ENDPOINTS",
)
#: providers whose calls cost the host nothing but CPU
FREE_PROVIDERS = ("local", "fake")
DEFAULT_MODELS = ("local/*", "fake/*")
#: a rate limit counts the runs started in this many seconds
WINDOW_S = 3600.0
TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class HostedPolicy:
    """What visitors may do. ``enabled=False`` is local single-user mode: everything is allowed."""

    enabled: bool = False
    host_models: tuple[str, ...] = DEFAULT_MODELS
    visitor_cap_usd: float = 0.50
    total_cap_usd: float = 10.0
    visitor_runs_per_hour: int = 20
    total_runs_per_hour: int = 200
    access_code: str | None = None
    admin_password: str | None = None
    allow_endpoints: bool = False

    @classmethod
    def from_settings(cls, get: Callable[[str], str | None] | Mapping[str, str]) -> HostedPolicy:
        """Read the settings through ``get(name)`` (or from a mapping). Raises TaleError on a bad value."""
        lookup: Callable[[str], str | None] = get.get if isinstance(get, Mapping) else get

        def text(name: str) -> str | None:
            v = lookup(name)
            v = str(v).strip() if v is not None else ""
            return v or None

        if (text(HOSTED) or "").lower() not in TRUE:
            return cls(enabled=False)
        models = text("TALE_HOSTED_MODELS")
        patterns = tuple(p.strip() for p in models.split(",") if p.strip()) if models is not None else DEFAULT_MODELS
        return cls(
            enabled=True,
            host_models=patterns,
            visitor_cap_usd=_money(text("TALE_VISITOR_CAP_USD"), "TALE_VISITOR_CAP_USD", cls.visitor_cap_usd),
            total_cap_usd=_money(text("TALE_TOTAL_CAP_USD"), "TALE_TOTAL_CAP_USD", cls.total_cap_usd),
            visitor_runs_per_hour=_count(
                text("TALE_VISITOR_RUNS_PER_HOUR"), "TALE_VISITOR_RUNS_PER_HOUR", cls.visitor_runs_per_hour
            ),
            total_runs_per_hour=_count(
                text("TALE_TOTAL_RUNS_PER_HOUR"), "TALE_TOTAL_RUNS_PER_HOUR", cls.total_runs_per_hour
            ),
            access_code=text("TALE_ACCESS_CODE"),
            admin_password=text("TALE_ADMIN_PASSWORD"),
            allow_endpoints=(text("TALE_HOSTED_ENDPOINTS") or "").lower() in TRUE,
        )

    def host_offers(self, spec: str) -> bool:
        """Whether visitors may call ``spec`` with the host's keys."""
        return any(fnmatch.fnmatchcase(spec, p) for p in self.host_models)


def _money(raw: str | None, name: str, default: float) -> float:
    if raw is None:
        return default
    try:
        v = float(raw)
    except ValueError:
        raise TaleError(f"{name} must be a number of dollars, not {raw[:40]!r}") from None
    if not math.isfinite(v) or v < 0:
        raise TaleError(f"{name} must be a number of dollars >= 0, not {raw[:40]!r}")
    return v


def _count(raw: str | None, name: str, default: int) -> int:
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise TaleError(f"{name} must be a whole number, not {raw[:40]!r}") from None
    if v < 0:
        raise TaleError(f"{name} must be >= 0, not {v}")
    return v


def hash_token(token: str) -> str:
    """What the database keeps of an owner token: its SHA-256 (the token itself is never stored)."""
    return hashlib.sha256(("tale-owner:" + token).encode("utf-8")).hexdigest()


def same_secret(typed: str | None, expected: str | None) -> bool:
    """Constant-time comparison of a typed code or password with the configured one (None never matches)."""
    if not typed or not expected:
        return False
    return hmac.compare_digest(typed.strip().encode("utf-8"), expected.encode("utf-8"))


def provider_of(spec: str) -> str:
    return spec.split("/", 1)[0] if "/" in spec else spec


@dataclass(frozen=True)
class Usage:
    """What the database says was used: host-paid dollars and runs started in the last hour."""

    visitor_spent_usd: float = 0.0
    total_spent_usd: float = 0.0
    visitor_runs_last_hour: int = 0
    total_runs_last_hour: int = 0


@dataclass(frozen=True)
class Decision:
    """The answer to "may this visitor start this run?"."""

    allowed: bool
    reason: str = ""
    #: True when at least one model runs on the host's keys (its cost counts against the caps)
    host_paid: bool = False
    #: the most this run may spend of the host's money (None: no limit), to use as the run's spend cap
    cap_usd: float | None = None

    def clamp(self, requested: float | None) -> float | None:
        """The spend cap the run gets: the smaller of what the visitor asked for and what is left."""
        if self.cap_usd is None:
            return requested
        if requested is None or requested <= 0:
            return self.cap_usd
        return min(requested, self.cap_usd)


def model_problems(policy: HostedPolicy, specs: Iterable[str], own_key_providers: Iterable[str]) -> list[str]:
    """Why each model may not run for a visitor ([] when all may). A provider the visitor brought a key
    for is theirs; everything else must be offered by the host."""
    if not policy.enabled:
        return []
    own = set(own_key_providers)
    out = []
    for spec in specs:
        if provider_of(spec) in own or policy.host_offers(spec):
            continue
        out.append(
            f"The host does not offer {spec} to visitors. Pick another model, or bring your own key for "
            f"{provider_of(spec)} in the sidebar (it stays in this browser session)."
        )
    return out


def decide(
    policy: HostedPolicy,
    usage: Usage,
    specs: Iterable[str],
    *,
    own_key_providers: Iterable[str] = (),
    is_admin: bool = False,
    code_ok: bool = False,
    estimate_usd: float | None = None,
) -> Decision:
    """May a run on ``specs`` start now? Checks, in order: access code, models, rate limits, spend caps,
    and the run's estimated cost against what is left of the caps."""
    if not policy.enabled:
        return Decision(True)
    specs = list(specs)
    own = set(own_key_providers)
    if is_admin:
        return Decision(True, "The host is signed in: no caps.")
    if policy.access_code and not code_ok:
        return Decision(False, "Enter the access code in the sidebar (under 'Hosted app') before running anything.")
    problems = model_problems(policy, specs, own)
    if problems:
        return Decision(False, " ".join(problems))
    if policy.visitor_runs_per_hour == 0 or usage.visitor_runs_last_hour >= policy.visitor_runs_per_hour:
        return Decision(
            False,
            f"Rate limit: you started {usage.visitor_runs_last_hour} run(s) in the last hour and the host allows "
            f"{policy.visitor_runs_per_hour} per visitor per hour. Try again later.",
        )
    if policy.total_runs_per_hour == 0 or usage.total_runs_last_hour >= policy.total_runs_per_hour:
        return Decision(
            False,
            f"Rate limit: visitors started {usage.total_runs_last_hour} run(s) in the last hour, the most the host "
            f"allows ({policy.total_runs_per_hour} per hour). Try again later.",
        )
    host_paid = any(provider_of(s) not in own and provider_of(s) not in FREE_PROVIDERS for s in specs)
    if not host_paid:
        return Decision(True)
    left_visitor = policy.visitor_cap_usd - usage.visitor_spent_usd
    left_total = policy.total_cap_usd - usage.total_spent_usd
    if left_visitor <= 0:
        return Decision(
            False,
            f"Spend cap reached: you have used ${usage.visitor_spent_usd:.4f} of the ${policy.visitor_cap_usd:.2f} "
            "the host gives each visitor on its keys. Use a free model, or bring your own key in the sidebar.",
        )
    if left_total <= 0:
        return Decision(
            False,
            f"Spend cap reached: visitors have used ${usage.total_spent_usd:.4f} of the host's "
            f"${policy.total_cap_usd:.2f} in total. Use a free model, or bring your own key in the sidebar.",
        )
    left = min(left_visitor, left_total)
    if estimate_usd is not None and estimate_usd > left:
        return Decision(
            False,
            f"This run is estimated at ${estimate_usd:.4f}, more than the ${left:.4f} left of the host's spend cap "
            "for you. Make it smaller, use a free model, or bring your own key.",
        )
    return Decision(True, host_paid=True, cap_usd=left)
