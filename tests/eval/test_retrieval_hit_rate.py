"""The retrieval hit-rate measurement and the retriever's command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.types import ChatMessage, Passage
from app.retrievers import local
from eval.retrieval.__main__ import main
from eval.retrieval.hit_rate import GoldQuestion, measure_hit_rate, read_test_questions
from tests.retrievers.local_support import HashingEncoder, write_tiny_catalog


def _passage(title: str) -> Passage:
    return Passage(id=title, title=title, text="", score=1.0, location="")


def test_hit_rate_counts_gold_product_among_titles_ignoring_case() -> None:
    answers = {
        "first": ["Press", "Welder"],
        "second": ["Pump"],
        "third": ["welder"],
    }
    questions = [
        GoldQuestion(product_name="Welder", question="first"),
        GoldQuestion(product_name="Welder", question="second"),
        GoldQuestion(product_name="Welder", question="third"),
    ]

    report = measure_hit_rate(
        lambda item, top_k: [_passage(title) for title in answers[item.question][:top_k]],
        questions,
        top_k=3,
    )

    assert (report.hits, report.questions) == (2, 3)
    assert report.hit_rate == pytest.approx(2 / 3)
    assert [miss.question for miss in report.misses] == ["second"]
    assert report.misses[0].retrieved == ["Pump"]
    assert len(report.latencies_ms) == 3


def test_the_facts_the_first_passage_and_the_top_k_state_are_counted() -> None:
    passages = [
        Passage(id="1", title="Pump", text="Flow is 90 m³/h.", score=1.0, location=""),
        Passage(id="2", title="Pump", text="Tighten the nut to 95 N·m.", score=0.5, location=""),
    ]
    questions = [
        GoldQuestion("Pump", "Flow and torque?", facts=(("90 m3/h",), ("95 Nm", "95 N m"))),
        GoldQuestion("Pump", "Head?", facts=(("32 m",),)),
    ]

    report = measure_hit_rate(lambda item, top_k: passages[:top_k], questions, top_k=2)

    facts = report.question_facts
    assert (facts.facts, facts.in_first, facts.in_top_k) == (3, 1, 2)
    assert report.conversation_facts.facts == 0


def test_test_set_is_read_with_its_fields(tmp_path: Path) -> None:
    path = tmp_path / "test.json"
    records = [
        {"product_name": "Pump", "question": "Flow?", "answer": "90", "section": "D"},
        {"product_name": "Pump", "question": "Nut?", "must_mention": [["95 N·m", "95 Nm"], "left"]},
    ]
    path.write_text(json.dumps(records), encoding="utf-8")

    assert read_test_questions(path) == [
        GoldQuestion("Pump", "Flow?", "D"),
        GoldQuestion("Pump", "Nut?", facts=(("95 N·m", "95 Nm"), ("left",))),
    ]


def test_a_conversation_item_is_its_last_user_turn_after_its_history(tmp_path: Path) -> None:
    path = tmp_path / "conversations.json"
    messages = [
        {"role": "user", "content": "Tell me about the VP-65."},
        {"role": "assistant", "content": "A centrifugal pump."},
        {"role": "user", "content": "Flow?"},
    ]
    path.write_text(json.dumps([{"product_name": "Pump", "messages": messages}]), "utf-8")

    (item,) = read_test_questions(path)

    assert item.question == "Flow?"
    assert item.is_conversation
    assert [turn.content for turn in item.history] == [
        "Tell me about the VP-65.",
        "A centrifugal pump.",
    ]


def test_conversations_are_counted_on_their_own_too() -> None:
    history = (ChatMessage("user", "about the welder"),)
    items = [
        GoldQuestion("Welder", "plain", history=()),
        GoldQuestion("Welder", "follow-up hit", history=history),
        GoldQuestion("Pump", "follow-up miss", history=history),
    ]

    report = measure_hit_rate(lambda _item, _k: [_passage("Welder")], items)

    assert (report.hits, report.questions) == (2, 3)
    assert (report.conversation_hits, report.conversations) == (1, 2)
    assert report.conversation_hit_rate == pytest.approx(0.5)


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    catalog = write_tiny_catalog(tmp_path / "kb")
    monkeypatch.setenv("FMT_CATALOG", str(catalog))
    monkeypatch.setenv("FMT_RETRIEVAL__INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setattr(local, "load_embedder", lambda _settings: HashingEncoder())
    monkeypatch.setattr(local, "limit_torch_threads", lambda: None)
    return tmp_path


def test_build_command_writes_the_index(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--build"]) == 0

    folders = list((environment / "index").iterdir())
    assert len(folders) == 1
    assert (folders[0] / "manifest.json").is_file()
    assert str(folders[0]) in capsys.readouterr().out


def test_hit_rate_command_reports_the_rate(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test_set = environment / "test.json"
    questions = [
        {"product_name": "Brantley BW-350 MIG Welder", "question": "helmet shade above 250 A"},
        {"product_name": "Vantor VP-65 Centrifugal Process Pump", "question": "impeller nut"},
    ]
    test_set.write_text(json.dumps(questions), encoding="utf-8")

    assert main(["--hit-rate", str(test_set), "--top-k", "1"]) == 0

    assert "hit rate @1: 2/2 = 100.0%" in capsys.readouterr().out


def test_hit_rate_command_resolves_follow_ups_against_the_conversation(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test_set = environment / "conversations.json"
    conversations = [
        {
            "product_name": "Vantor VP-65 Centrifugal Process Pump",
            "messages": [
                {"role": "user", "content": "Can the Vantor VP-65 run dry?"},
                {"role": "assistant", "content": "Not for more than 30 seconds."},
                {"role": "user", "content": "How tight does its nut go?"},
            ],
        },
        {
            "product_name": "Kestrel KX-420 Hydraulic Press",
            "messages": [
                {"role": "user", "content": "What does E-21 mean on the KX-420?"},
                {"role": "assistant", "content": "Set pressure was not reached."},
                {"role": "user", "content": "And the red blocks?"},
            ],
        },
    ]
    test_set.write_text(json.dumps(conversations), encoding="utf-8")

    assert main(["--hit-rate", str(test_set), "--top-k", "1"]) == 0

    output = capsys.readouterr().out
    assert "follow-up conversations: 2/2 = 100.0%" in output
