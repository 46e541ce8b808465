"""Append-only JSON-lines files that survive a kill: one record per line, synced as written."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

logger = logging.getLogger(__name__)

RecordT = TypeVar("RecordT", bound=BaseModel)


class JsonlStore(Generic[RecordT]):
    """Records keyed by `key_of`; reading keeps the last record of each key.

    A run killed mid-write leaves at most one torn final line: reading skips it, and the next
    append starts on a fresh line, so nothing already written is lost.
    """

    def __init__(
        self, path: Path, model: type[RecordT], key_of: Callable[[RecordT], Hashable]
    ) -> None:
        self.path = path
        self.model = model
        self.key_of = key_of
        self._lock = threading.Lock()

    def load(self) -> dict[Hashable, RecordT]:
        records: dict[Hashable, RecordT] = {}
        if not self.path.exists():
            return records
        with self.path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = self.model.model_validate(json.loads(line))
                except (json.JSONDecodeError, ValidationError):
                    logger.warning("skipping unreadable line %d of %s", number, self.path)
                    continue
                records[self.key_of(record)] = record
        return records

    def append(self, record: RecordT) -> None:
        line = record.model_dump_json() + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as handle:
                handle.seek(0, os.SEEK_END)
                if handle.tell() > 0:
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":
                        handle.write(b"\n")
                handle.write(line.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())

    def exists(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0
