"""CLI commands about models and methods: ``models``, ``methods``, ``ask`` and ``install-model``.

    python -m tale_core models [--json]
    python -m tale_core methods [--json]
    python -m tale_core ask "QUESTION" [--model local/smollm2] [--method vanilla] [--budget N]
                                       [--prompt-style paper|plain] [--max-tokens N]
                                       [--temperature T] [--seed S] [--json] [--stream]
    python -m tale_core install-model qwen2.5-coder-1.5b

``ask`` runs one method of the registry (``python -m tale_core methods`` lists them; ``budget:50``,
``effort:low`` and ``chain-of-draft`` work too) through :func:`tale_core.engine.methods.run_method`,
and prints one JSON object (compact with ``--json``, indented otherwise); with ``--stream`` the text
also goes to stderr as it arrives. Errors print ``error: <message>`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tale_core.accounting.pricing import PriceOverrides, parse_override, price_table_version
from tale_core.engine.method_registry import all_methods, get_method
from tale_core.engine.methods import MethodSpec, params_for, run_method
from tale_core.engine.prompts import PAPER, PROMPT_STYLES
from tale_core.errors import TaleError
from tale_core.providers import list_models, parse_spec, resolve
from tale_core.providers.catalog import LOCAL_DEFAULT
from tale_core.providers.model_install import install_model
from tale_core.types import GenParams


def method_spec(method: str, budget: int | None = None) -> MethodSpec:
    """The spec for ``--method`` (a key, an alias or a full spec such as ``budget:50``) and ``--budget``."""
    name, sep, _ = (method or "").strip().lower().partition(":")
    m = get_method(name) if name else None
    numeric = m is not None and m.arg is not None and m.arg.numeric
    if budget is not None and not sep:
        if not numeric:
            raise TaleError(f"--budget does not apply to --method {method}; it takes no number")
        return MethodSpec.parse(f"{name}:{budget}")
    if numeric and not sep:
        raise TaleError(f"--method {method} needs --budget N (or --method {name}:N)")
    return MethodSpec.parse(method)


def method_rows() -> list[dict[str, Any]]:
    """The registry as rows: key, label, argument, capability needed, calls per question, source."""
    return [
        {
            "key": m.key,
            "label": m.label,
            "argument": m.arg.noun if m.arg else None,
            "example": f"{m.key}:{m.arg.default}" if m.arg else m.key,
            "requires": m.requires,
            "calls": m.calls,
            "aliases": list(m.aliases),
            "source": m.source,
        }
        for m in all_methods()
    ]


# --- models ---------------------------------------------------------------------------------------


def cmd_models(args: argparse.Namespace) -> int:
    rows = [s.to_dict() for s in list_models()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    width = max([len(r["spec"]) for r in rows] + [4])
    print(f"{'spec':<{width}}  available  reason")
    for r in rows:
        print(f"{r['spec']:<{width}}  {'yes' if r['available'] else 'no':<9}  {r['reason']}")
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    rows = method_rows()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    width = max(len(r["example"]) for r in rows)
    print(f"{'method':<{width}}  label")
    for r in rows:
        needs = f" [needs {r['requires']}]" if r["requires"] else ""
        print(f"{r['example']:<{width}}  {MethodSpec.parse(r['example']).label}{needs}")
    return 0


# --- ask ------------------------------------------------------------------------------------------


def _overrides(args: argparse.Namespace, spec: str) -> PriceOverrides | None:
    if args.price_in is None and args.price_out is None:
        return None
    if args.price_in is None or args.price_out is None:
        raise TaleError("Give both --price-in and --price-out (USD per million tokens)")
    key, price = parse_override(spec, args.price_in, args.price_out)
    return {key: price}


def ask(
    question: str,
    spec: str = LOCAL_DEFAULT,
    *,
    method: str = "vanilla",
    budget: int | None = None,
    params: GenParams | None = None,
    on_text: Callable[[str], None] | None = None,
    price_overrides: PriceOverrides | None = None,
    prompt_style: str = PAPER,
) -> dict[str, Any]:
    """Run one method on one question with one model and return the result as a flat dict (what ``ask``
    prints). Tokens, cost and latency add up every call of the method (TALE-EP makes two).

    Raises :class:`TaleError` (unknown model or method, missing key, provider failure).
    """
    from tale_core.providers.capabilities import validate_params
    from tale_core.providers.catalog import capabilities_for

    if not question or not question.strip():
        raise TaleError("The question is empty: pass the question as the first argument.")
    provider, name = parse_spec(spec)
    mspec = method_spec(method, budget)
    model = resolve(spec)
    caps = getattr(model, "capabilities", None) or capabilities_for(provider, name)
    if params is None:
        params = GenParams(max_tokens=caps.default_max_tokens)
    # a thinking budget, effort or hard budget the model lacks (as a flag or as the method): refused here
    validate_params(caps, params_for(mspec, params), name=spec)
    r = run_method(
        model,
        mspec,
        question,
        params=params,
        on_text=on_text,
        price_overrides=price_overrides,
        prompt_style=prompt_style,
    )
    if r.error is not None:
        raise TaleError(r.error_message or "The call failed")
    comp = r.records[-1].completion
    assert comp is not None  # run_method reports a failed call as r.error
    not_sent = [k for k, ok in (("temperature", caps.temperature), ("seed", caps.seed)) if not ok]
    return {
        "text": r.text,
        "provider": comp.provider,
        "model": comp.model,
        "method": method,
        "budget": r.budget_used,
        "prompt_style": prompt_style,
        "input_tokens": r.input_tokens,
        "output_tokens": r.output_tokens,
        "reasoning_tokens": r.reasoning_tokens,
        "reasoning_tokens_source": r.reasoning_tokens_source,
        "visible_output_tokens": r.visible_output_tokens,
        "cache_read_tokens": r.cache_read_tokens,
        "cache_write_tokens": sum(c.completion.cache_write_tokens or 0 for c in r.records if c.completion),
        "finish_reason": r.finish_reason,
        "truncated": comp.truncated,
        "usage_warnings": r.usage_warnings,
        "cost_usd": r.cost_usd,
        "price_table": price_table_version(),
        "latency_s": round(r.latency_s, 4),
        "first_token_s": None if comp.first_token_s is None else round(comp.first_token_s, 4),
        "runtime": comp.runtime,
        "usage_source": comp.usage_source,
        "params": {k: v for k, v in params.to_dict().items() if k not in not_sent},
        "params_not_sent": not_sent,
        "deterministic": params.deterministic and not not_sent,
        "calls": len(r.records),
        "estimate": r.estimate,
    }


def cmd_ask(args: argparse.Namespace) -> int:
    if args.max_tokens is not None and args.max_tokens <= 0:
        raise TaleError("--max-tokens must be above 0")
    if not 0 <= args.temperature <= 2:
        raise TaleError("--temperature must be between 0 and 2")
    if args.concurrency is not None:
        _set_env_setting("TALE_CONCURRENCY", args.concurrency)
    max_tokens = args.max_tokens
    if max_tokens is None:  # sized per model: reasoning models need room to think
        from tale_core.providers import parse_spec
        from tale_core.providers.catalog import capabilities_for

        max_tokens = capabilities_for(*parse_spec(args.model)).default_max_tokens
    params = GenParams(
        max_tokens=max_tokens,
        temperature=args.temperature,
        seed=args.seed,
        reasoning_effort=args.effort,
        thinking_budget=args.thinking_budget,
        hard_budget=args.hard_budget,
    )
    on_text = None
    if args.stream:

        def on_text(piece: str) -> None:
            sys.stderr.write(piece)
            sys.stderr.flush()

    out = ask(
        args.question,
        args.model,
        method=args.method,
        budget=args.budget,
        params=params,
        on_text=on_text,
        price_overrides=_overrides(args, args.model),
        prompt_style=args.prompt_style,
    )
    if args.stream:
        sys.stderr.write("\n")
    print(json.dumps(out, ensure_ascii=False, indent=None if args.json else 2))
    return 0


def _set_env_setting(name: str, value: int) -> None:
    """A CLI flag that applies to every model this process builds (read by ProviderSettings.from_env)."""
    import os

    from tale_core.settings import check_concurrency

    os.environ[name] = str(check_concurrency(value, "--concurrency"))


# --- install-model --------------------------------------------------------------------------------


def cmd_install_model(args: argparse.Namespace) -> int:
    def progress(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    path = install_model(args.name, dest_dir=Path(args.dir) if args.dir else None, force=args.force, progress=progress)
    print(str(path))
    return 0


def _methods_help() -> str:
    return "; ".join(f"{r['example']} ({r['label']})" for r in method_rows())


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``models``, ``methods``, ``ask`` and ``install-model`` to the ``python -m tale_core`` parser."""
    p = subparsers.add_parser("models", help="list models and whether each is ready to use")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=cmd_models)

    p = subparsers.add_parser("methods", help="list the methods ask, sweeps and benchmarks can run")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=cmd_methods)

    p = subparsers.add_parser("ask", help="ask one question with one method and print the result as JSON")
    p.add_argument("question")
    p.add_argument("--model", default=LOCAL_DEFAULT, help=f"provider/model (default {LOCAL_DEFAULT})")
    p.add_argument("--method", default="vanilla", help=f"one of: {_methods_help()}")
    p.add_argument(
        "--budget", type=int, default=None, help="the argument of a method that takes a number (--method budget)"
    )
    p.add_argument(
        "--prompt-style",
        default=PAPER,
        choices=list(PROMPT_STYLES),
        help="; ".join(f"{k}: {v}" for k, v in PROMPT_STYLES.items()),
    )
    p.add_argument(
        "--max-tokens", type=int, default=None, help="output cap (default: sized for the model, e.g. 16384 for o4-mini)"
    )
    p.add_argument("--effort", default=None, help="reasoning effort, by the model's own names (e.g. low, max)")
    p.add_argument("--thinking-budget", type=int, default=None, help="provider thinking budget in tokens")
    p.add_argument("--hard-budget", type=int, default=None, help="budget forcing: reason at most N tokens")
    p.add_argument("--concurrency", type=int, default=None, help="calls at once per API provider (default 32)")
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--price-in", type=float, default=None, help="override: USD per million input tokens")
    p.add_argument("--price-out", type=float, default=None, help="override: USD per million output tokens")
    p.add_argument("--stream", action="store_true", help="show the text on stderr as it arrives")
    p.add_argument("--json", action="store_true", help="compact one-line JSON")
    p.set_defaults(func=cmd_ask)

    p = subparsers.add_parser("install-model", help="download and verify an optional embedded model")
    p.add_argument("name", help="qwen2.5-coder-1.5b")
    p.add_argument("--dir", default=None, help="target folder (default: the local models folder)")
    p.add_argument("--force", action="store_true", help="reinstall even when a verified copy exists")
    p.set_defaults(func=cmd_install_model)
