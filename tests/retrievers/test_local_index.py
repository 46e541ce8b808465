"""Persistence of the local index: reused while nothing changes, rebuilt when anything does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.retrievers import local_index
from app.retrievers.local_index import LocalIndex, load_or_build_index
from tests.retrievers.local_support import HashingEncoder, tiny_settings


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts index builds: one entry per build, holding its chunk count."""
    counted: list[int] = []
    real_build = local_index.build_index

    def counting_build(*arguments: object, **options: object) -> LocalIndex:
        index = real_build(*arguments, **options)  # type: ignore[arg-type]
        counted.append(len(index.chunks))
        return index

    monkeypatch.setattr(local_index, "build_index", counting_build)
    return counted


def test_second_start_loads_what_the_first_built(tmp_path: Path, builds: list[int]) -> None:
    settings = tiny_settings(tmp_path)

    first, first_folder = load_or_build_index(settings, HashingEncoder())
    second, second_folder = load_or_build_index(settings, HashingEncoder())

    assert len(builds) == 1
    assert second_folder == first_folder
    assert second.chunks == first.chunks
    np.testing.assert_array_equal(second.embeddings, first.embeddings)
    np.testing.assert_array_equal(
        second.lexical_scores("safety blocks"), first.lexical_scores("safety blocks")
    )


def test_catalog_change_rebuilds(tmp_path: Path, builds: list[int]) -> None:
    settings = tiny_settings(tmp_path)
    _, first_folder = load_or_build_index(settings, HashingEncoder())
    catalog = settings.catalog
    catalog.write_text(
        catalog.read_text(encoding="utf-8").replace("95 N·m", "110 N·m"), encoding="utf-8"
    )

    index, folder = load_or_build_index(settings, HashingEncoder())

    assert len(builds) == 2
    assert folder != first_folder
    assert any("110 N·m" in chunk.text for chunk in index.chunks)


@pytest.mark.parametrize(
    "change",
    [{"chunk_tokens": 40}, {"chunk_overlap_percent": 0}],
)
def test_chunking_change_rebuilds(
    tmp_path: Path, builds: list[int], change: dict[str, int]
) -> None:
    load_or_build_index(tiny_settings(tmp_path), HashingEncoder())

    load_or_build_index(tiny_settings(tmp_path, **change), HashingEncoder())

    assert len(builds) == 2


def test_other_embedding_model_rebuilds(tmp_path: Path, builds: list[int]) -> None:
    settings = tiny_settings(tmp_path)
    load_or_build_index(settings, HashingEncoder("model-a"))

    load_or_build_index(settings, HashingEncoder("model-b"))
    load_or_build_index(settings, HashingEncoder("model-a"))

    assert len(builds) == 2


def test_crash_while_saving_leaves_no_index(
    tmp_path: Path, builds: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tiny_settings(tmp_path)

    def crash(*_arguments: object, **_options: object) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(np, "save", crash)
        with pytest.raises(OSError, match="disk full"):
            load_or_build_index(settings, HashingEncoder())

    assert list(settings.retrieval.index_dir.iterdir()) == []
    _, folder = load_or_build_index(settings, HashingEncoder())
    assert (folder / "manifest.json").is_file()
    assert len(builds) == 2


def test_damaged_index_is_rebuilt(tmp_path: Path, builds: list[int]) -> None:
    settings = tiny_settings(tmp_path)
    _, folder = load_or_build_index(settings, HashingEncoder())
    (folder / "embeddings.npy").write_bytes(b"not numpy")

    index, again = load_or_build_index(settings, HashingEncoder())

    assert again == folder
    assert len(builds) == 2
    assert index.embeddings.shape[0] == len(index.chunks)
    assert [path.name for path in settings.retrieval.index_dir.iterdir()] == [folder.name]
