"""CLI commands about models: ``models``, ``ask`` and ``install-model``.

    python -m tale_core models [--json]
    python -m tale_core ask "QUESTION" [--model local/smollm2] [--method vanilla] [--max-tokens N]
                                       [--temperature T] [--seed S] [--json] [--stream]
    python -m tale_core install-model qwen2.5-coder-1.5b

``ask`` prints one JSON object (compact with ``--json``, indented otherwise); with ``--stream`` the
text also goes to stderr as it arrives. Errors print ``error: <message>`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tale_core.errors import TaleError
from tale_core.providers.catalog import LOCAL_DEFAULT
from tale_core.types import GenParams, Message

SYSTEM_PROMPT = "You are a helpful assistant."
#: the paper's vanilla CoT prompt (DESIGN.md section 3); used only if tale_core.engine.prompts is unavailable
_VANILLA_COT_FALLBACK = (
    "Q: {question}\nPlease Give the response by strictly following this format: [[answer]], "
    "for example: Answer: [[50]].Let's think step by step:\n"
)

METHODS = ("vanilla", "direct", "budget", "concise", "chain-of-draft")


def build_messages(question: str, method: str = "vanilla", budget: int | None = None) -> tuple[Message, ...]:
    """System + user messages for ``method`` on ``question`` (prompt text lives in tale_core.engine.prompts)."""
    if not question or not question.strip():
        raise TaleError("The question is empty: pass the question as the first argument.")
    try:
        from tale_core.engine import prompts
    except ImportError:  # pragma: no cover - prompts.py is part of the package
        if method != "vanilla":
            raise TaleError(f"Method {method!r} needs tale_core.engine.prompts") from None
        return (
            Message("system", SYSTEM_PROMPT),
            Message("user", _VANILLA_COT_FALLBACK.replace("{question}", question)),
        )
    builders: dict[str, Callable[[], tuple[Message, ...]]] = {
        "vanilla": lambda: prompts.vanilla_cot(question),
        "direct": lambda: prompts.direct(question),
        "concise": lambda: prompts.concise_cot(question),
        "chain-of-draft": lambda: prompts.chain_of_draft(question),
    }
    if method == "budget":
        if budget is None:
            raise TaleError("--method budget needs --budget N (the token budget written into the prompt)")
        return prompts.budget(question, budget)
    if method not in builders:
        raise TaleError(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return builders[method]()


# --- models ---------------------------------------------------------------------------------------


def cmd_models(args: argparse.Namespace) -> int:
    from tale_core.providers import list_models

    rows = [s.to_dict() for s in list_models()]
    if args.json:
        import json

        print(json.dumps(rows, ensure_ascii=False))
        return 0
    width = max([len(r["spec"]) for r in rows] + [4])
    print(f"{'spec':<{width}}  available  reason")
    for r in rows:
        print(f"{r['spec']:<{width}}  {'yes' if r['available'] else 'no':<9}  {r['reason']}")
    return 0


# --- ask ------------------------------------------------------------------------------------------


def _overrides(args: argparse.Namespace, spec: str):
    if args.price_in is None and args.price_out is None:
        return None
    if args.price_in is None or args.price_out is None:
        raise TaleError("Give both --price-in and --price-out (USD per million tokens)")
    from tale_core.accounting.pricing import parse_override

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
    price_overrides: Any = None,
) -> dict[str, Any]:
    """Run one prompt against one model and return the result as a flat dict (what ``ask`` prints).

    Raises :class:`TaleError` (unknown model, missing key, provider failure).
    """
    from tale_core.accounting.pricing import completion_cost, price_table_version
    from tale_core.providers import parse_spec, resolve
    from tale_core.providers.capabilities import validate_params
    from tale_core.providers.catalog import capabilities_for

    provider, name = parse_spec(spec)
    messages = build_messages(question, method, budget)
    model = resolve(spec)
    caps = getattr(model, "capabilities", None) or capabilities_for(provider, name)
    if params is None:
        params = GenParams(max_tokens=caps.default_max_tokens)
    validate_params(caps, params, name=spec)  # a thinking budget or effort the model lacks: refused here
    comp = model.complete(messages, params, on_text=on_text)
    cost = completion_cost(comp, price_overrides)
    not_sent = [k for k, ok in (("temperature", caps.temperature), ("seed", caps.seed)) if not ok]
    return {
        "text": comp.text,
        "provider": comp.provider,
        "model": comp.model,
        "method": method,
        "budget": budget,
        "input_tokens": comp.input_tokens,
        "output_tokens": comp.output_tokens,
        "reasoning_tokens": comp.reasoning_tokens,
        "reasoning_tokens_source": comp.reasoning_tokens_source,
        "visible_output_tokens": comp.visible_output_tokens,
        "cache_read_tokens": comp.cache_read_tokens,
        "cache_write_tokens": comp.cache_write_tokens,
        "finish_reason": comp.finish_reason,
        "truncated": comp.truncated,
        "usage_warnings": comp.usage_warnings,
        "cost_usd": cost,
        "price_table": price_table_version(),
        "latency_s": round(comp.latency_s, 4),
        "first_token_s": None if comp.first_token_s is None else round(comp.first_token_s, 4),
        "runtime": comp.runtime,
        "usage_source": comp.usage_source,
        "params": {k: v for k, v in params.to_dict().items() if k not in not_sent},
        "params_not_sent": not_sent,
        "deterministic": params.deterministic and not not_sent,
    }


def cmd_ask(args: argparse.Namespace) -> int:
    import json

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
    from tale_core.providers.model_install import install_model

    def progress(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    path = install_model(args.name, dest_dir=Path(args.dir) if args.dir else None, force=args.force, progress=progress)
    print(str(path))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``models``, ``ask`` and ``install-model`` to the ``python -m tale_core`` parser."""
    p = subparsers.add_parser("models", help="list models and whether each is ready to use")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=cmd_models)

    p = subparsers.add_parser("ask", help="ask one question with one method and print the result as JSON")
    p.add_argument("question")
    p.add_argument("--model", default=LOCAL_DEFAULT, help=f"provider/model (default {LOCAL_DEFAULT})")
    p.add_argument("--method", default="vanilla", choices=METHODS)
    p.add_argument("--budget", type=int, default=None, help="token budget for --method budget")
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
