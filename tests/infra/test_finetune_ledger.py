"""The per-fact ledger: statuses, invented figures, summaries, and the probes it asks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.finetune.catalog_qa import CatalogFact, paraphrases
from infra.finetune.facts import figures, invented_figures, probe_for
from infra.finetune.ledger import (
    LedgerQuestion,
    ledger_entries,
    read_test_questions,
    status_of,
    summarize,
    summary_lines,
)

OIL = LedgerQuestion(
    question="How often is the KX-420 hydraulic oil changed?",
    references=("Every 4,000 hours or once a year, whichever comes first.",),
    facts=(("4,000 hours", "4000 h"), ("once a year", "yearly")),
    source="test",
)
GAUGE = LedgerQuestion(
    question="Which gauge must read zero?",
    references=("Gauge PG2 must read 0 bar.",),
    facts=(("PG2",),),
    source="test",
)


def test_status_follows_what_each_model_states() -> None:
    assert [status_of(base, tuned) for base, tuned in [(1, 1), (0, 1), (0, 0), (1, 0)]] == [
        "known",
        "learned",
        "unknown",
        "forgotten",
    ]


def test_each_fact_is_matched_as_the_eval_matches_it() -> None:
    entries = ledger_entries(
        [OIL, GAUGE],
        base=["The oil is changed every 1,500 hours.", "Check gauge PG 2."],
        tuned=["Every 4000 hours, or yearly.", "The gauge is PG7 at 3 bar."],
    )

    assert [(entry.fact, entry.status) for entry in entries] == [
        ("4,000 hours | 4000 h", "learned"),
        ("once a year | yearly", "learned"),
        ("PG2", "forgotten"),
    ]
    assert entries[0].base_invented == ["1,500"]
    assert entries[0].tuned_invented == []
    assert entries[2].tuned_invented == ["3", "PG7"]


def test_summary_counts_statuses_recall_and_invented_figures_on_known_facts() -> None:
    entries = ledger_entries(
        [OIL, GAUGE],
        base=["The oil is changed every 1,500 hours.", "Check gauge PG 2."],
        tuned=["Every 4000 hours, or yearly.", "The gauge is PG7 at 3 bar."],
    )
    summary = summarize(entries)["test"]

    assert isinstance(summary, dict)
    assert (summary["known"], summary["learned"], summary["unknown"], summary["forgotten"]) == (
        0,
        2,
        0,
        1,
    )
    assert summary["base_recall"] == 0.5  # the mean over questions, as make eval computes it
    assert summary["tuned_recall"] == 0.5
    assert summary["invented"] == {"questions": 2, "base": 1, "tuned": 2}
    assert summary["invented_on_known"] == {"questions": 1, "base": 0, "tuned": 2}
    assert "learned 2" in summary_lines(summarize(entries))[0]


def test_test_questions_read_must_mention_with_alternatives(tmp_path: Path) -> None:
    path = tmp_path / "test.json"
    path.write_text(
        json.dumps(
            [
                {"question": "Q1", "answer": "A1", "must_mention": [["5 minutes", "5 min"], "PG2"]},
                {"question": "Q2", "answer": "A2", "must_mention": []},
            ]
        ),
        encoding="utf-8",
    )

    [asked] = read_test_questions(path)
    assert asked.facts == (("5 minutes", "5 min"), ("PG2",))


def test_a_probe_asks_a_paraphrase_never_trained_and_checks_the_figures_it_lacks() -> None:
    fact = CatalogFact("Kestrel KX-420 Hydraulic Press", "Description", "The ram stroke is 300 mm.")
    probe = probe_for(fact, trained_paraphrases=2, seed=0)

    assert probe is not None
    assert probe.question == paraphrases(fact, 0)[2]
    assert probe.question not in paraphrases(fact, 0)[:2]
    assert probe.facts == ("300",)  # KX-420 is in the question: not a figure to recall


def test_figures_and_inventions_ignore_formatting() -> None:
    assert figures("Set P08 to 0.06 s, E-21 and 4,000 h.") == {"P08", "0.06", "E-21", "4,000"}
    assert invented_figures("Every 4000 h or 12 months.", ["Every 4,000 hours."]) == ["12"]


def test_the_command_writes_the_ledger_and_prints_the_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.finetune.__main__ import main

    catalog = tmp_path / "catalog.txt"
    catalog.write_text(
        "=== PRODUCT: Kestrel KX-420 Hydraulic Press ===\n--- Description ---\n"
        "The ram stroke is 300 mm. The press weighs 3,850 kg.\n",
        encoding="utf-8",
    )
    test_set = tmp_path / "test.json"
    test_set.write_text(
        json.dumps(
            [{"question": "What is the stroke?", "answer": "300 mm.", "must_mention": ["300 mm"]}]
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("FMT_CATALOG", str(catalog))
    monkeypatch.setenv("FMT_LOCAL__ADAPTERS_DIR", str(tmp_path / "adapters"))

    def answers(settings: object, lora_path: Path | None, questions: list[str]) -> list[str]:
        return ["It is 300 mm." if lora_path else "About 12 mm." for _ in questions]

    monkeypatch.setattr("infra.finetune.compare.model_answers", answers)
    out = tmp_path / "ledger.json"

    assert main(["compare", "--questions", str(test_set), "--ledger", str(out)]) == 0

    document = json.loads(out.read_text(encoding="utf-8"))
    test_facts = [fact for fact in document["facts"] if fact["source"] == "test"]
    assert [(fact["fact"], fact["status"]) for fact in test_facts] == [("300 mm", "learned")]
    assert test_facts[0]["base_invented"] == ["12"]
    assert {fact["source"] for fact in document["facts"]} == {"test", "catalog"}
    assert "test: 1 facts in 1 questions: known 0, learned 1" in capsys.readouterr().out
