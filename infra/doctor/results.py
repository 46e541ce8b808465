"""What one doctor check found: a verdict, what was seen, and what to do about a failure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["ok", "fail", "skip"]
MARKS: dict[Verdict, str] = {"ok": "[ok]  ", "fail": "[FAIL]", "skip": "[skip]"}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of the report; a failure always carries a `fix` a person can act on."""

    name: str
    verdict: Verdict
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{MARKS[self.verdict]} {self.name}: {self.detail}"
        return f"{text}\n       fix: {self.fix}" if self.fix else text


def ok(name: str, detail: str) -> CheckResult:
    return CheckResult(name, "ok", detail)


def fail(name: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name, "fail", detail, fix)


def skip(name: str, detail: str) -> CheckResult:
    return CheckResult(name, "skip", detail)
