"""Sentence selection: the sentences that answer the question, in their order, within a budget."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from app.context.ranking import DenseScorer, SpanRanker, lexical_scores
from app.context.selection import select_sentences
from app.context.spans import split_sentences
from app.core.token_count import estimate_text_tokens
from app.core.types import Passage

FAULTS = Passage(
    id="kx-faults",
    title="Kestrel KX-420 Hydraulic Press",
    text=(
        "The HMI shows a fault code when a cycle stops. E-21 means pressure not reached within "
        "8 s; check the pump and the oil level. E-33 means a linear encoder fault; check the "
        "encoder cable. E-40 means the light curtain was interrupted."
    ),
    score=0.9,
    location="catalog.txt#KX-420/Operation/3",
    section="Operation Instructions",
)
JUNK = Passage(
    id="kx-id",
    title="Kestrel KX-420 Hydraulic Press",
    text="Product ID: KX-420",
    score=0.5,
    location="catalog.txt#KX-420/0",
)
OIL = Passage(
    id="kx-oil",
    title="Kestrel KX-420 Hydraulic Press",
    text=(
        "Change the hydraulic oil every 4,000 hours or once a year, whichever comes first. "
        "Replace the return filter at each oil change. Grease the tie rods monthly."
    ),
    score=0.4,
    location="catalog.txt#KX-420/Maintenance/1",
    section="Maintenance",
)
LEXICAL = SpanRanker(dense=None)


def test_facts_listed_with_semicolons_are_spans_of_their_own() -> None:
    text = "Fault codes: E-14 means oil overtemperature; E-21 means pressure not reached."
    assert split_sentences(text) == [
        "Fault codes: E-14 means oil overtemperature;",
        "E-21 means pressure not reached.",
    ]


def test_words_of_the_passages_own_product_do_not_make_a_sentence_relevant() -> None:
    sentences = ["Product ID: KX-420", "Change the oil every 4,000 hours."]
    titles = ["Kestrel KX-420 Hydraulic Press"] * 2
    scores = lexical_scores("How often is the KX-420 oil changed?", sentences, titles)
    assert scores[0] == 0 and scores[1] > 0


def test_sentences_split_at_full_stops_and_line_breaks_not_inside_numbers() -> None:
    text = "Set 7.5 m/min for steel.\nUse 0.8 mm wire. Check E-21 first!"
    assert split_sentences(text) == [
        "Set 7.5 m/min for steel.",
        "Use 0.8 mm wire.",
        "Check E-21 first!",
    ]


def test_a_code_in_the_question_outranks_words_every_sentence_shares() -> None:
    sentences = split_sentences(FAULTS.text)
    scores = lexical_scores("What does fault code E-21 mean on the KX-420 press?", sentences)
    assert sentences[int(np.argmax(scores))].startswith("E-21 means pressure not reached")


def test_keeps_the_answering_sentence_with_its_passage_id_and_drops_the_rest() -> None:
    kept = select_sentences(
        "What does fault code E-21 mean?",
        [FAULTS, JUNK, OIL],
        LEXICAL,
        budget_tokens=40,
        count=estimate_text_tokens,
    )
    assert [(rank, passage.id) for rank, passage in kept] == [(0, "kx-faults")]
    assert kept[0][1].text == "E-21 means pressure not reached within 8 s;"


def test_kept_sentences_stay_in_their_original_order_and_passages_in_rank_order() -> None:
    kept = select_sentences(
        "How often is the oil changed, and what does E-33 mean?",
        [FAULTS, JUNK, OIL],
        LEXICAL,
        budget_tokens=200,
        count=estimate_text_tokens,
    )
    ranks = [rank for rank, _ in kept]
    assert ranks == sorted(ranks)
    faults_text = dict(kept)[0].text
    assert faults_text.index("E-21") < faults_text.index("E-33")
    assert "4,000 hours" in dict(kept)[2].text


def test_the_budget_is_never_exceeded() -> None:
    passages = [FAULTS, OIL] * 5
    for budget in (20, 40, 80, 160):
        kept = select_sentences(
            "oil pressure fault", passages, LEXICAL, budget, estimate_text_tokens
        )
        used = sum(estimate_text_tokens(p.text) for _, p in kept)
        assert used <= budget


class _TopicEncoder:
    """Unit vectors on two axes: texts about lubrication on one, everything else on the other."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]:
        self.calls.append(list(texts))
        rows = [
            [1.0, 0.0] if "oil" in text.lower() or "lubricant" in text.lower() else [0.0, 1.0]
            for text in texts
        ]
        return np.array(rows, dtype=np.float32)


def test_dense_similarity_finds_a_sentence_sharing_no_word_with_the_question() -> None:
    ranker = SpanRanker(DenseScorer(_TopicEncoder()), dense_weight=1.0, lexical_weight=1.0)
    care = Passage(
        id="care",
        title="Kestrel KX-420 Hydraulic Press",
        text="Grease the tie rods monthly. Change the oil every 4,000 hours. Wipe the guards.",
        score=1.0,
        location="catalog.txt#care",
    )
    kept = select_sentences("lubricant service interval", [care], ranker, 60, estimate_text_tokens)
    assert kept[0][1].text == "Change the oil every 4,000 hours."


def test_sentence_vectors_are_encoded_once_across_requests() -> None:
    encoder = _TopicEncoder()
    ranker = SpanRanker(DenseScorer(encoder))
    ranker.scores("first question", ["a sentence.", "another one."])
    ranker.scores("second question", ["a sentence.", "another one."])
    assert encoder.calls[1] == ["second question"]


def test_with_nothing_in_common_the_retrievers_order_decides() -> None:
    kept = select_sentences("lubricant?", [OIL, FAULTS], LEXICAL, 40, estimate_text_tokens)
    assert [passage.id for _, passage in kept] == ["kx-oil"]
    assert kept[0][1].text.startswith("Change the hydraulic oil")


def test_a_sentence_naming_only_other_codes_ranks_below_the_one_naming_the_code_asked() -> None:
    sentences = [
        "Fault codes: E-07 means the light curtain was interrupted during the downstroke;",
        "E-21 means set pressure was not reached within 8 s;",
    ]
    question = "What does fault code E-21 mean on the KX-420 press?"
    plain = lexical_scores("What does this fault code mean?", sentences)
    scores = lexical_scores(question, sentences)
    assert plain[0] > plain[1]  # the words alone favour the sentence listing "fault codes"
    assert scores[1] > 2 * scores[0]


def test_one_product_quotes_only_the_product_of_the_best_retrieved_passage() -> None:
    motor = Passage(
        id="gm-oil",
        title="Geared Motor GM-7",
        text="The gear motor is filled for life and its oil is changed after 10,000 hours.",
        score=0.3,
        location="catalog.txt#GM-7/Maintenance/1",
    )
    question = "How often is the oil changed?"

    mixed = select_sentences(question, [OIL, motor], LEXICAL, 200, estimate_text_tokens)
    one = select_sentences(
        question, [OIL, motor], LEXICAL, 200, estimate_text_tokens, one_product=True
    )

    assert [passage.id for _, passage in mixed] == ["kx-oil", "gm-oil"]
    assert [passage.id for _, passage in one] == ["kx-oil"]
    assert "4,000 hours" in one[0][1].text


def test_a_long_sentence_of_instructions_is_cut_where_the_next_one_begins() -> None:
    text = (
        "Maintenance: check oil level on the sight glass daily, replace the return filter "
        "element KX-RF10 every 1,000 operating hours, change the hydraulic oil every 4,000 hours "
        "or once a year, whichever comes first, and re-check tie-rod nut torque every 500 hours."
    )
    listing = (
        "It has 12 digital inputs at 24 V DC, 8 relay outputs rated 2 A each, 4 analog inputs "
        "that accept 0-10 V or 4-20 mA at 12-bit resolution, and 2 analog outputs."
    )
    spans = split_sentences(text)
    assert (
        "change the hydraulic oil every 4,000 hours or once a year, whichever comes first," in spans
    )
    assert spans[-1] == "and re-check tie-rod nut torque every 500 hours."
    assert split_sentences(listing)[-1].endswith("and 2 analog outputs.")


def test_the_budget_pays_for_a_passage_header_only_when_the_template_shows_one() -> None:
    # Each of the three oil sentences fits the budget with its words alone, not with a header.
    sentences = split_sentences(OIL.text)
    words_only = sum(estimate_text_tokens(sentence) + 1 for sentence in sentences)
    question = "oil change filter grease tie rods hours year"
    arguments = (question, [OIL], LEXICAL, words_only, estimate_text_tokens)
    bare = select_sentences(*arguments, passage_template="{text}")
    headed = select_sentences(*arguments, passage_template="[{index}] {title} ({section}):\n{text}")
    assert bare[0][1].text == OIL.text
    assert len(split_sentences(headed[0][1].text)) < len(sentences)
