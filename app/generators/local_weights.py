"""The GGUF llama.cpp runs: the shipped Q4_1 SmolLM2 widened once to F16, cached on disk.

Why: with Q4_1 weights llama.cpp also quantizes activations (to Q8_1) in every matmul, and a
135M model is too small to take that: its greedy answers flip ("L'Étoile, la Marseillaise" for
"The capital of France is Paris."). The same weights in F16 keep activations in float and
answer as transformers does, at a comparable speed for a model this small.
"""

from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path
from types import ModuleType
from typing import Literal

from app.core.bundled_models import derived_path

logger = logging.getLogger(__name__)

WeightType = Literal["f16", "as-shipped"]
_LLAMA_FTYPE_MOSTLY_F16 = 1


def import_llama_cpp() -> ModuleType:
    """llama_cpp, imported lazily: the service only loads it when a local model is configured.

    `app/__init__.py` has already set OMP_WAIT_POLICY for the OpenMP runtime it links.
    """
    import llama_cpp

    return llama_cpp


def widened_path(source: Path, cache_dir: Path) -> Path:
    """Where the F16 copy of `source` lives; its name carries the source's content hash."""
    return derived_path(source, cache_dir, "f16.gguf")


def runnable_weights(source: Path, weight_type: WeightType, cache_dir: Path) -> Path:
    """The file to load: `source` itself, or its F16 copy, written (atomically) if missing."""
    if weight_type == "as-shipped":
        return source
    target = widened_path(source, cache_dir)
    if target.is_file():
        return target
    llama_cpp = import_llama_cpp()
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = _LLAMA_FTYPE_MOSTLY_F16
    params.allow_requantize = True
    params.nthread = os.cpu_count() or 1
    logger.info("widening %s to F16 at %s", source.name, target)
    status = llama_cpp.llama_model_quantize(
        str(source).encode(), str(partial).encode(), ctypes.byref(params)
    )
    if status != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"llama.cpp could not convert {source} to F16 (status {status})")
    partial.replace(target)
    return target
