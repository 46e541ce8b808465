"""The training's progress file, beside where the adapter will land: state, step, total, ETA.

The service reads it (`app.generators.lora_adapters.read_progress`) to answer 503 with a
Retry-After while the adapter trains, and to show the progress on /ready.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.generators.lora_adapters import TrainingProgress, TrainingState, write_progress

# Loading the model, measuring and exporting come on top of the steps (seconds, measured here).
EXPORT_ALLOWANCE_S = 10.0


@dataclass(slots=True)
class ProgressReporter:
    path: Path
    profile: str | None = None
    total_steps: int = 0
    max_seconds: float | None = None
    """The training's time bound, if any: the ETA never goes past it."""
    pid: int = field(default_factory=os.getpid)
    _started: float | None = None
    _first_step: int = 0

    def state(self, state: TrainingState, message: str | None = None, step: int = 0) -> None:
        eta = 0.0 if state in {"done", "failed"} else None
        self._write(state, step, eta, message)

    def begin_training(self, total_steps: int, first_step: int = 0) -> None:
        self.total_steps = total_steps
        self._started = time.monotonic()
        self._first_step = first_step
        self._write("training", first_step, None, None)

    def step(self, completed: int, loss: float) -> None:
        """After each optimizer step: the time left is the steps left at this run's pace so far."""
        eta = None
        if self._started is not None and completed > self._first_step:
            elapsed = time.monotonic() - self._started
            left = elapsed / (completed - self._first_step) * (self.total_steps - completed)
            if self.max_seconds is not None:
                left = min(left, max(0.0, self.max_seconds - elapsed))
            eta = round(left + EXPORT_ALLOWANCE_S, 1)
        self._write("training", completed, eta, f"loss {loss:.3f}")

    def _write(
        self, state: TrainingState, step: int, eta_s: float | None, message: str | None
    ) -> None:
        write_progress(
            self.path,
            TrainingProgress(
                state=state,
                step=step,
                total_steps=self.total_steps,
                eta_s=eta_s,
                pid=self.pid,
                profile=self.profile,
                message=message,
            ),
        )
