"""Question/answer pairs derived from the catalog: facts, questions by shape, product names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.finetune.catalog_qa import (
    CatalogFact,
    catalog_facts,
    catalog_qa,
    paraphrases,
    product_references,
    question_for,
)
from infra.finetune.question_shapes import keywords
from tests.catalog.converters import SAMPLE_CATALOG

CATALOG = """=== PRODUCT: Kestrel KX-420 Hydraulic Press ===
Product ID: KX-420

--- Description ---
The ram stroke is 300 mm and the open daylight is 650 mm. It weighs 3,850 kg (about 3.9 t).

--- Operation Instructions ---
Fault codes: E-07 means the light curtain was interrupted; E-14 means oil overtemperature at \
65 °C; E-21 means set pressure was not reached within 8 s, usually a worn pump or leaking valve.
To reset the counter, open Service > Counters and press RESET. Grease the gibs weekly.

=== PRODUCT: Sable SC-12 Programmable Logic Controller ===
--- Operation Instructions ---
Alarms: F-101 is a watchdog timeout (scan time over 150 ms), F-204 means a module is missing, \
and F-310 means the battery is low.
Replace the battery every 3 years; keep the power ON so that the clock is kept.
"""


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.txt"
    path.write_text(CATALOG, encoding="utf-8")
    return path


def test_facts_are_sentences_with_code_lists_and_clauses_split(catalog: Path) -> None:
    texts = [fact.text for fact in catalog_facts(catalog)]

    assert texts == [
        "The ram stroke is 300 mm and the open daylight is 650 mm.",
        "It weighs 3,850 kg (about 3.9 t).",
        "E-07 means the light curtain was interrupted.",
        "E-14 means oil overtemperature at 65 °C.",
        "E-21 means set pressure was not reached within 8 s, usually a worn pump or leaking valve.",
        "To reset the counter, open Service > Counters and press RESET.",
        "Grease the gibs weekly.",
        "F-101 is a watchdog timeout (scan time over 150 ms).",
        "F-204 means a module is missing.",
        "F-310 means the battery is low.",
        "Replace the battery every 3 years.",
        "Keep the power ON so that the clock is kept.",
    ]


def test_a_labelled_list_of_instructions_is_one_fact_per_instruction(tmp_path: Path) -> None:
    path = tmp_path / "catalog.txt"
    path.write_text(
        "=== PRODUCT: Kestrel KX-420 Hydraulic Press ===\n--- Operation ---\n"
        "Maintenance: check oil level on the sight glass daily, replace the return filter "
        "element KX-RF10 every 1,000 operating hours, change the hydraulic oil every 4,000 hours "
        "or once a year, whichever comes first, and re-check tie-rod nut torque every 500 hours.\n"
        "Select a recipe, place the part, and press both cycle buttons.\n",
        encoding="utf-8",
    )

    assert [fact.text for fact in catalog_facts(path)] == [
        "Check oil level on the sight glass daily.",
        "Replace the return filter element KX-RF10 every 1,000 operating hours.",
        "Change the hydraulic oil every 4,000 hours or once a year, whichever comes first.",
        "Re-check tie-rod nut torque every 500 hours.",
        "Select a recipe, place the part, and press both cycle buttons.",
    ]


def test_product_is_named_in_full_by_code_or_by_kind() -> None:
    assert product_references("Kestrel KX-420 Hydraulic Press") == (
        "the Kestrel KX-420 Hydraulic Press",
        "the KX-420",
        "my hydraulic press",
        "the press",
        "my press",
    )
    assert product_references("Widget") == ("the Widget",)


def test_a_short_name_is_one_no_other_product_of_the_catalog_shares() -> None:
    products = [
        "Kestrel KX-420 Hydraulic Press",
        "Quillon QD-40 Geared Drill Press",
        "Brantley BW-350 MIG Welder",
    ]
    short_names = {product: product_references(product, products)[3:] for product in products}

    assert short_names == {
        "Kestrel KX-420 Hydraulic Press": ("the hydraulic press",),
        "Quillon QD-40 Geared Drill Press": ("the drill press", "my drill press"),
        "Brantley BW-350 MIG Welder": ("the welder", "my welder"),
    }


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("E-21 means set pressure was not reached.", "What does E-21 mean on the KX-420?"),
        ("F-101 is a watchdog timeout.", "What does F-101 mean on the KX-420?"),
        (
            "To reset the counter, open Service > Counters.",
            "How do I reset the counter on the KX-420?",
        ),
        ("The ram stroke is 300 mm.", "What is the ram stroke of the KX-420?"),
        (
            "The ram stroke is 300 mm and the open daylight between ram and bolster is 650 mm.",
            "What is the ram stroke and the open daylight between ram and bolster of the KX-420?",
        ),
        ("Program memory is 128 KB.", "What is the program memory of the KX-420?"),
        (
            "Empty the dust bin when it is 75% full.",
            "What does the operation instructions of the KX-420 say about empty, dust and bin?",
        ),
        (
            "Grease the ram guide gibs weekly with EP2 grease.",
            "How often do I grease the ram guide gibs with EP2 grease on the KX-420?",
        ),
        (
            "Replace the CR2032 battery every 3 years or when F-310 appears, with the power ON.",
            "How often do I replace the CR2032 battery on the KX-420?",
        ),
        (
            "Wait at least 15 minutes after disconnecting the supply, and measure the DC bus.",
            "How long do I wait after disconnecting the supply on the KX-420?",
        ),
        (
            "Tighten the two lock nuts to no more than 75 N·m, or the thread can be damaged.",
            "What torque should I use to tighten the two lock nuts on the KX-420?",
        ),
        (
            "Set the chiller to 22 °C for the laser circuit and 28 °C for the optics circuit.",
            "What temperature should I use to set the chiller for the laser circuit and for the "
            "optics circuit on the KX-420?",
        ),
        (
            "Use shade 12 or darker above 250 A.",
            "What does the operation instructions of the KX-420 say about shade and darker?",
        ),
        (
            "It delivers 350 A at 60% duty cycle and 270 A at 100% duty cycle.",
            "What current is given for delivers, duty and cycle on the KX-420?",
        ),
        (
            "The Profinet interface ships with the default IP address 192.168.0.42.",
            "What IP address is given for profinet, interface and ships on the KX-420?",
        ),
        (
            "The accumulator stays pressurised: wait at least 5 minutes before opening a fitting.",
            "How long do I wait before opening a fitting on the KX-420?",
        ),
        (
            "Never run against a closed valve for more than 60 seconds, because it heats.",
            "Is it OK to run against a closed valve on the KX-420?",
        ),
        (
            "When changing cartridges, wear a P3 respirator and goggles.",
            "What should I do when changing cartridges on the KX-420?",
        ),
        ("On L-205, remove the window.", "What should I do when it shows L-205 on the KX-420?"),
        (
            "For group 2 machines, set warning at 2.8 mm/s.",
            "What speed should I use to set warning for group 2 machines on the KX-420?",
        ),
        (
            "A red double blink means low battery, below 3.1 V.",
            "What does a red double blink mean on the KX-420?",
        ),
        (
            "A yellow LED flashing at 4 Hz means the target is unstable.",
            "What does a yellow LED flashing mean on the KX-420?",
        ),
    ],
)
def test_question_follows_the_shape_of_the_fact(text: str, question: str) -> None:
    fact = CatalogFact("Kestrel KX-420 Hydraulic Press", "Operation Instructions", text)

    assert question_for(fact, "the KX-420") == question


def test_the_paraphrases_of_a_sentence_with_figures_ask_for_each_measure() -> None:
    fact = CatalogFact(
        "Kestrel KX-420 Hydraulic Press",
        "Description",
        "The press weighs 3,850 kg and emits 72 dB(A).",
    )
    asked = paraphrases(fact, seed=0)

    assert any("weight" in question for question in asked[:2])
    assert any("noise level" in question for question in asked[:2])
    assert not any(re.search(r"3,850|72", question) for question in asked)


def test_keywords_skip_numbers_stop_words_and_the_product_name() -> None:
    found = keywords("The Kestrel press stops at 65 °C when the oil is hot", {"kestrel", "press"})

    assert found == ["stops", "oil", "hot"]


def test_every_fact_becomes_one_pair_answered_by_itself(catalog: Path) -> None:
    pairs = catalog_qa(catalog, seed=1)
    facts = catalog_facts(catalog)

    assert [pair.answer for pair in pairs] == [fact.text for fact in facts]
    for pair in pairs:
        assert any(
            reference in pair.question for reference in product_references(pair.fact.product)
        )
        assert pair.answer not in pair.question


def test_the_way_a_product_is_named_varies_with_the_seed_only(catalog: Path) -> None:
    assert catalog_qa(catalog, seed=1) == catalog_qa(catalog, seed=1)
    questions = {seed: [pair.question for pair in catalog_qa(catalog, seed)] for seed in range(4)}

    assert len({tuple(found) for found in questions.values()}) > 1


def test_paraphrases_vary_the_frame_and_the_product_name_from_the_first_few() -> None:
    fact = CatalogFact("Kestrel KX-420 Hydraulic Press", "Operation", "E-21 means low pressure.")
    asked = paraphrases(fact, seed=0)

    assert len(asked) == len(set(asked)) >= 12
    assert all("E-21" in question for question in asked)
    first = asked[:3]
    assert len({question.split("E-21")[0] for question in first}) == 3  # three frames
    references = product_references(fact.product)
    named = {next(ref for ref in references if ref.lower() in q.lower()) for q in first}
    assert len(named) == 3  # and three ways of naming the product
    assert paraphrases(fact, seed=0) == asked  # deterministic


def test_paraphrases_name_a_product_shortly_only_where_no_other_product_is_meant() -> None:
    facts = catalog_facts(SAMPLE_CATALOG)  # sells a hydraulic press and a drill press
    products = {fact.product for fact in facts}
    asked = [
        question
        for fact in facts
        if "press" not in fact.text  # the catalog's own words may say "the press"
        for question in paraphrases(fact, 0, products)
    ]

    assert any("the welder" in question for question in asked)
    assert any("my drill press" in question for question in asked)
    assert not any(re.search(r"\b(?:the|my) press\b", question) for question in asked)
