"""Fact recall: matching that formatting cannot fool, and the sample test set's own facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.metrics.facts import check_facts, mentions
from eval.settings import PROJECT_ROOT
from eval.testset import QuestionSetError, load_testset

TEST_SET = PROJECT_ROOT / "data" / "test" / "test.json"
HELDOUT_SET = PROJECT_ROOT / "data" / "test" / "heldout.json"


@pytest.mark.parametrize(
    ("answer", "fact"),
    [
        ("Change it every 4000 hours.", "4,000 hours"),
        ("Change it every 4,000 hours.", "4000 hours"),
        ("Tighten to 120 Nm.", "120 N·m"),
        ("Tighten to 120 N.m.", "120 N·m"),
        ("It delivers 2500 m3/h.", "2,500 m³/h"),
        ("The ramp is 2 s.", "2.0 s"),
        ("Check gauge pg 2.", "PG2"),
        ("Five blinks mean belt slip.", "5 blinks"),
        ("It is rated at 270A.", "270 A"),
        ("Set it to 192.168.1.12.", "192.168.1.12"),
        ("Use the GV-5EX.", "GV-5Ex"),
        ("Use a P3 respirator.", "P3"),
        ("Max 7 bar.", "7 bar"),
    ],
)
def test_formatting_does_not_hide_a_fact(answer: str, fact: str) -> None:
    assert mentions(answer, (fact,))


@pytest.mark.parametrize(
    ("answer", "fact"),
    [
        ("Wait 15 minutes.", "5 minutes"),  # a number inside a longer one
        ("Wait 5.5 minutes.", "5 minutes"),
        ("It runs at 6.3 bar.", "6.0 bar"),
        ("Every 1,000 hours.", "4,000 hours"),
        ("Reduce the pressure.", "red"),  # a word inside a longer one
        ("Use P3.02 for the ramp.", "P3"),
        ("Apply 12 kg.", "120 kg"),
    ],
)
def test_a_near_miss_is_not_a_fact(answer: str, fact: str) -> None:
    assert not mentions(answer, (fact,))


def test_any_phrasing_of_a_fact_counts() -> None:
    assert mentions("Wait 5 min.", ("5 minutes", "5 min"))
    check = check_facts("Wait 5 min, then open it.", [("5 minutes", "5 min"), ("PG2",)])
    assert check is not None and check.recall == 0.5 and check.missing == (("PG2",),)


def test_no_facts_means_no_recall_rather_than_zero() -> None:
    assert check_facts("anything", []) is None


@pytest.mark.parametrize("question_set", [TEST_SET, HELDOUT_SET], ids=["test", "heldout"])
def test_every_sample_question_has_facts_its_reference_answer_states(question_set: Path) -> None:
    questions = load_testset(question_set)
    catalog = (PROJECT_ROOT / "data" / "kb" / "catalog.txt").read_text(encoding="utf-8")
    for question in questions:
        assert question.must_mention, f"question {question.index} has no must_mention"
        reference = check_facts(question.answer, question.must_mention)
        assert reference is not None and not reference.missing, question.index
        in_catalog = check_facts(catalog, question.must_mention)
        assert in_catalog is not None and not in_catalog.missing, question.index
        # A fact the question already states would be a free point for echoing it.
        echoed = check_facts(question.question, question.must_mention)
        assert echoed is not None and not echoed.found, question.index


def test_must_mention_shape_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"question": "Q?", "answer": "A.", "must_mention": "4 bar"}]))
    with pytest.raises(QuestionSetError, match="must be a list"):
        load_testset(path)
    path.write_text(json.dumps([{"question": "Q?", "answer": "A.", "must_mention": [[""]]}]))
    with pytest.raises(QuestionSetError, match="phrase"):
        load_testset(path)
    path.write_text(
        json.dumps(
            [{"question": "Q?", "answer": "A.", "must_mention": ["4 bar", ["5 s", "5 sec"]]}]
        )
    )
    assert load_testset(path)[0].must_mention == (("4 bar",), ("5 s", "5 sec"))
