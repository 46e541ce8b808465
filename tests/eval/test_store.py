"""The JSON-lines store survives a torn last line and keeps the latest record of a key."""

from __future__ import annotations

from pathlib import Path

from eval.records import BertScoreRecord
from eval.store import JsonlStore


def store(path: Path) -> JsonlStore[BertScoreRecord]:
    return JsonlStore(path, BertScoreRecord, lambda record: record.key)


def record(key: str, f1: float) -> BertScoreRecord:
    return BertScoreRecord(key=key, precision=f1, recall=f1, f1=f1, backbone="test")


def test_torn_last_line_is_skipped_and_the_next_append_is_whole(tmp_path: Path) -> None:
    path = tmp_path / "scores.jsonl"
    scores = store(path)
    scores.append(record("a", 0.5))
    with path.open("a") as handle:
        handle.write('{"key": "b", "precis')  # what a kill during a write leaves
    assert set(scores.load()) == {"a"}
    scores.append(record("c", 0.7))
    assert set(scores.load()) == {"a", "c"}
    assert path.read_text().count("\n") == 3


def test_latest_record_of_a_key_wins(tmp_path: Path) -> None:
    scores = store(tmp_path / "scores.jsonl")
    scores.append(record("a", 0.1))
    scores.append(record("a", 0.9))
    assert scores.load()["a"].f1 == 0.9
