"""The local retriever's index (chunks, MiniLM vectors, BM25 state), built once and kept on disk."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import bm25s
import numpy as np
import numpy.typing as npt

from app.catalog import Chunk, ChunkSizes, catalog_hash, chunk_catalog
from app.core.embeddings import Vectors
from app.retrievers.local_text import TEXT_FORMAT_VERSION, indexed_text, tokenize
from app.settings import Settings

logger = logging.getLogger(__name__)

Scores = npt.NDArray[np.float32]
Vector = npt.NDArray[np.float32]

INDEX_FORMAT_VERSION = 2
_MANIFEST = "manifest.json"
_CHUNKS = "chunks.json"
_EMBEDDINGS = "embeddings.npy"
_LEXICAL = "bm25"


class Encoder(Protocol):
    """What the index needs from an embedding model."""

    identity: str

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Vectors: ...


class IndexCorrupt(ValueError):
    """A persisted index folder is unreadable or does not match its manifest."""


@dataclass(frozen=True, slots=True)
class LocalIndex:
    """Chunks with one unit vector each and a BM25 index over the same chunk order."""

    chunks: list[Chunk]
    embeddings: Vectors
    lexical: bm25s.BM25

    def dense_scores(self, query_vector: Vector) -> Scores:
        """Cosine similarity of every chunk to the query (vectors are unit length)."""
        return np.asarray(self.embeddings @ query_vector, dtype=np.float32)

    def lexical_scores(self, query: str) -> Scores:
        """BM25 score of every chunk for the query; all zeros when no query word is indexed."""
        token_ids = self.lexical.get_tokens_ids(tokenize(query))
        if not token_ids:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self.lexical.get_scores_from_ids(token_ids), dtype=np.float32)


def index_key(settings: Settings, catalog_digest: str, model_identity: str) -> str:
    """Names the index: changes with the catalog, the chunking, the text format and the model."""
    parts = {
        "format": INDEX_FORMAT_VERSION,
        "text_format": TEXT_FORMAT_VERSION,
        "catalog": catalog_digest,
        "chunk_tokens": settings.retrieval.chunk_tokens,
        "chunk_overlap_percent": settings.retrieval.chunk_overlap_percent,
        "documents": settings.documents.model_dump(),
        "model": model_identity,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def build_index(chunks: Sequence[Chunk], encoder: Encoder) -> LocalIndex:
    """Embed and BM25-index the chunks (blocking: MiniLM runs at ~20 chunks/s on two cores)."""
    texts = [indexed_text(chunk) for chunk in chunks]
    embeddings = encoder.encode(texts)
    lexical = bm25s.BM25()
    lexical.index([tokenize(text) for text in texts], show_progress=False)
    return LocalIndex(chunks=list(chunks), embeddings=embeddings, lexical=lexical)


def save_index(index: LocalIndex, folder: Path, manifest: dict[str, Any]) -> None:
    """Write the index into `folder`, which must not exist yet (the caller renames it in)."""
    folder.mkdir(parents=True)
    chunks = [dataclasses.asdict(chunk) for chunk in index.chunks]
    (folder / _CHUNKS).write_text(json.dumps(chunks, ensure_ascii=False), encoding="utf-8")
    np.save(folder / _EMBEDDINGS, index.embeddings, allow_pickle=False)
    index.lexical.save(str(folder / _LEXICAL), show_progress=False)
    # The manifest goes last: a folder without it was never finished.
    (folder / _MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def load_index(folder: Path) -> LocalIndex:
    """Read an index written by `save_index`; raises IndexCorrupt when it does not add up."""
    try:
        json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
        records = json.loads((folder / _CHUNKS).read_text(encoding="utf-8"))
        chunks = [Chunk(**record) for record in records]
        embeddings = np.load(folder / _EMBEDDINGS, allow_pickle=False).astype(np.float32)
        lexical = bm25s.BM25.load(str(folder / _LEXICAL), show_progress=False)
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise IndexCorrupt(f"index at {folder} is unreadable: {error}") from error
    if embeddings.shape[0] != len(chunks) or lexical.scores["num_docs"] != len(chunks):
        raise IndexCorrupt(f"index at {folder} holds mismatched chunk, vector and BM25 counts")
    return LocalIndex(chunks=chunks, embeddings=embeddings, lexical=lexical)


def _publish(index: LocalIndex, folder: Path, manifest: dict[str, Any]) -> None:
    """Write into a temporary sibling and rename it into place, so readers never see half."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        save_index(index, staging / "index", manifest)
        try:
            os.rename(staging / "index", folder)
        except OSError:
            # Another process published the same key first; its index is as good as ours.
            if not (folder / _MANIFEST).is_file():
                raise
            logger.info("index already published", extra={"index_dir": str(folder)})
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _set_aside(folder: Path) -> None:
    """Move a broken index out of the way so a fresh one can take its name."""
    broken = folder.with_name(f".broken-{folder.name}-{time.time_ns()}")
    os.rename(folder, broken)
    shutil.rmtree(broken, ignore_errors=True)


def load_or_build_index(settings: Settings, encoder: Encoder) -> tuple[LocalIndex, Path]:
    """The index for the current catalog and settings: loaded when on disk, else built and saved."""
    catalog = settings.catalog
    digest = catalog_hash(catalog)
    key = index_key(settings, digest, encoder.identity)
    folder = settings.retrieval.index_dir / key
    if (folder / _MANIFEST).is_file():
        try:
            index = load_index(folder)
        except IndexCorrupt as error:
            logger.warning("rebuilding unreadable index", extra={"reason": str(error)})
            _set_aside(folder)
        else:
            logger.info("index loaded", extra={"index_dir": str(folder)})
            return index, folder
    elif folder.exists():
        _set_aside(folder)
    started = time.perf_counter()
    chunks = chunk_catalog(catalog, ChunkSizes.of(settings), settings.documents)
    index = build_index(chunks, encoder)
    manifest = {
        "key": key,
        "catalog": str(catalog),
        "catalog_hash": digest,
        "chunk_tokens": settings.retrieval.chunk_tokens,
        "chunk_overlap_percent": settings.retrieval.chunk_overlap_percent,
        "model_identity": encoder.identity,
        "chunks": len(chunks),
        "built_in_s": round(time.perf_counter() - started, 3),
    }
    _publish(index, folder, manifest)
    logger.info("index built", extra={"index_dir": str(folder), "chunks": len(chunks)})
    return index, folder
