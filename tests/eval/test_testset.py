"""Loading the question set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.testset import QuestionSetError, load_testset


def test_questions_get_stable_ids(testset: Path) -> None:
    first, again = load_testset(testset), load_testset(testset)
    assert [q.question_id for q in first] == [q.question_id for q in again]
    assert len({q.question_id for q in first}) == len(first)
    assert first[0].product_name == "MANUFLEX 9000"


def test_reference_field_names_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"question": "Q?", "ground_truth": "A."}]))
    assert load_testset(path)[0].answer == "A."


def test_item_without_answer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"question": "Q?"}]))
    with pytest.raises(QuestionSetError, match="item 0"):
        load_testset(path)
