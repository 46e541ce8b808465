"""Question/answer pairs derived from the catalog alone: one per fact, the fact as the answer.

A domain fine-tune on raw chunks teaches the model to recite sections; users ask short questions
and expect one precise sentence. These pairs teach that mapping with no labelled data: every
sentence (or list item) of the catalog becomes an answer, and a question is built from its
shape (a code's meaning, a procedure, a named value) or, failing that, from its key words.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.catalog import Section, read_sections

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_CLAUSE_END = re.compile(r";\s+")
# An identifier like E-21, F-310, AL-1001, SW2, 0x8C10: letters and digits, at least one digit.
_CODE = r"(?:0x[0-9A-F]+|[A-Z]{1,4}-?[0-9]{1,5}[A-Z]?)"
_CODE_ITEM = re.compile(rf"(?:^|[,;:]\s+)(?:and\s+)?(?=({_CODE})\s+(?:is|means)\s)")
_DEFINITION = re.compile(rf"^(?P<code>{_CODE})\s+(?P<verb>is|means)\s+(?P<meaning>.+)$")
_PROCEDURE = re.compile(r"^To (?P<goal>[^,]{4,80}),\s+(?P<steps>.+)$")
_NAMED_VALUE = re.compile(
    r"^(?P<subject>(?:The |Its |A )?[A-Za-z][\w\- /]{2,50}?) (?P<verb>is|are) "
    r"(?P<value>(?:rated |set |about |up to |below |at |from )?[0-9].*)$"
)
_LABEL = re.compile(r"^(?P<label>[A-Z][A-Za-z ]{2,30}):\s+(?P<rest>.+)$")
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]+")
_STOP_WORDS_TEXT = """
    a about above after again all also an and any are as at be because been before below
    between both but by can cannot do does each every for from has have if in into is it its
    keep may more most must no not of off on once only or other out over per same should so
    some such than that the their then there these they this those through to too under until
    up use used uses using very was were when which while will with within without you your
    always never first next new one two three four five six eight ten least
    comes carries stays weighs emits accepts gives holds reaches rated available optional"""
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
# Words that make the text before "is" a clause rather than a noun phrase.
_CLAUSE_WORDS = frozenset({"when", "if", "it", "the", "this", "that", "which", "until", "must"})
MAX_KEYWORDS = 3
# Verbs an instruction starts with ("Replace the filter every 1,000 hours"); re- forms count too.
_INSTRUCTION_VERBS_TEXT = """
    add adjust align apply attach blow calibrate change check clean clear close confirm connect
    disable disconnect drain empty enable fill fit flush grease ground hold inspect install keep
    lift load lock lubricate measure mount move open place protect pull push record refill
    regrease release remove replace reset restart rotate route run secure select set start stop
    store switch test tighten torque turn unload use verify wait wear"""
_INSTRUCTION_VERBS = frozenset(_INSTRUCTION_VERBS_TEXT.split())
_LIST_ITEM = re.compile(r",\s+(?:and\s+)?(?=(?:re-)?([a-z]+)\b)")
_AMOUNT = r"[0-9][0-9,]*(?:\.[0-9]+)?(?:\s*(?:to|-|\u2013)\s*[0-9][0-9,]*(?:\.[0-9]+)?)?"
_QUALIFIER = (
    r"(?:(?:to|at|within|for|of|from|after)\s+)?"
    r"(?:(?:no more than|at least|at most|a maximum of|up to|about)\s+)?"
)
# A figure after one of these words is a condition of the instruction, not what it prescribes.
_CONDITION = r"(?<!above )(?<!below )(?<!over )(?<!under )(?<!exceeds )(?<!than )"
_INTERVAL = re.compile(
    rf"\s*(?<!after )(?<!before )\b(?:every\s+(?:{_AMOUNT}\s+)?(?:operating\s+)?[a-z]+|"
    r"daily|weekly|monthly|yearly|annually|once a (?:day|week|month|year))(?:\s+or\s+[^,.]+)?"
)
_DURATION_UNITS = r"(?:seconds?|s|minutes?|min|hours?|h|days?|weeks?|months?|years?)"
# The measure a unit gives (what a user asks for: "What torque ...?"), in order of precedence.
_UNIT_MEASURES: tuple[tuple[str, str], ...] = (
    ("N·m|Nm", "torque"),
    ("bar|MPa|kPa|Pa|psi", "pressure"),
    ("°C|°F", "temperature"),
    ("rpm|mm/s|m/s|m/min|km/h", "speed"),
    ("m³/h|m³/min|L/min|l/min", "flow"),
    ("kW|W", "power"),
    ("V", "voltage"),
    ("A|amps?", "current"),
    ("kg|g|t", "weight"),
    ("L|litres?|liters?|ml", "amount"),
    ("mm", "size"),
    ("cm|m", "distance"),
    ("dB\\(A\\)|dB", "noise level"),
    ("Hz", "frequency"),
    ("%", "share"),
    (_DURATION_UNITS, "time"),
)
_FIGURES = (
    *(
        (re.compile(rf"{_CONDITION}\b{_QUALIFIER}{_AMOUNT}\s*(?:{units})(?![\w/²³])"), measure)
        for units, measure in _UNIT_MEASURES
    ),
    (re.compile(r"\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}\b"), "IP address"),
)


@dataclass(frozen=True, slots=True)
class CatalogFact:
    product: str
    section: str
    text: str


@dataclass(frozen=True, slots=True)
class QuestionAnswer:
    question: str
    fact: CatalogFact

    @property
    def answer(self) -> str:
        return self.fact.text


def _sentences(text: str) -> Iterator[str]:
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        if sentence.strip():
            yield sentence.strip()


def _code_items(sentence: str) -> list[str]:
    """`E-07 means ..., E-14 means ... and E-21 means ...` as one item per code; else []."""
    body = sentence.rstrip(".")
    starts = [match.start(1) for match in _CODE_ITEM.finditer(body)]
    if len(starts) < 2:
        return []
    bounds = [*starts, len(body)]
    items = []
    for start, end in itertools.pairwise(bounds):
        item = body[start:end].rstrip(" ,;:")
        items.append(re.sub(r",?\s+and$", "", item))
    return items


def _instruction_items(sentence: str) -> list[str]:
    """`Maintenance: check ..., replace ... every 1,000 hours, and re-check ...` as one item per
    instruction (each at least three words); else []."""
    labelled = _LABEL.match(sentence.rstrip("."))
    if labelled is None or not _is_instruction(labelled.group("rest")):
        return []
    body = labelled.group("rest")
    starts = [0] + [
        match.start() for match in _LIST_ITEM.finditer(body) if match.group(1) in _INSTRUCTION_VERBS
    ]
    if len(starts) < 2:
        return []
    items = []
    for start, end in itertools.pairwise([*starts, len(body)]):
        items.append(re.sub(r"^,\s+(?:and\s+)?", "", body[start:end]))
    return items if all(len(item.split()) >= 3 for item in items) else []


def _is_instruction(text: str) -> bool:
    first = text.split(maxsplit=1)[0].lower() if text.strip() else ""
    return first.removeprefix("re-") in _INSTRUCTION_VERBS


def _facts_of(section: Section) -> Iterator[CatalogFact]:
    for sentence in _sentences(section.text):
        if sentence.lower().startswith("product id:"):
            continue
        items = _code_items(sentence) or _instruction_items(sentence)
        if not items:
            items = [clause for clause in _CLAUSE_END.split(sentence) if len(clause.split()) >= 4]
            if len(items) < 2:
                items = [sentence]
        for item in items:
            text = item if item.endswith((".", "!", "?")) else f"{item}."
            yield CatalogFact(section.product, section.title, text[0].upper() + text[1:])


def catalog_facts(catalog: Path) -> list[CatalogFact]:
    """Every sentence of the catalog, with lists of codes and `;` clauses split into items."""
    return [fact for section in read_sections(catalog) for fact in _facts_of(section)]


def product_references(product: str, products: Collection[str] = ()) -> tuple[str, ...]:
    """How a user names a product: in full, by model code, by its kind ("my hydraulic press"),
    and by the shortest end of its kind that none of the catalog's other `products` shares ("the
    welder"; "the drill press" where a hydraulic press is also sold, never an ambiguous "the
    press")."""
    code, kind = _code_and_kind(product)
    if code is None:
        return (f"the {product}",)
    references = [f"the {product}", f"the {code}"]
    if kind:
        references.append(f"my {' '.join(kind)}")
        others = [_code_and_kind(other)[1] for other in products if other != product]
        for length in range(1, len(kind) + 1):
            short = kind[-length:]
            if any(other[-length:] == short for other in others):
                continue
            references.append(f"the {' '.join(short)}")
            if length < len(kind):
                references.append(f"my {' '.join(short)}")
            break
    return tuple(references)


def _code_and_kind(product: str) -> tuple[str | None, list[str]]:
    """The model code (the first word with a digit) and the lowercased words after it."""
    words = product.split()
    code = next((word for word in words if any(char.isdigit() for char in word)), None)
    if code is None:
        return None, []
    return code, [word.lower() for word in words[words.index(code) + 1 :]]


def keywords(text: str, skip: set[str]) -> list[str]:
    """The first distinct content words: no stop words, numbers, or words of the product name."""
    found: list[str] = []
    for word in _WORD.findall(text):
        lowered = word.lower()
        if lowered in _STOP_WORDS or lowered in skip or lowered in found or len(lowered) < 3:
            continue
        found.append(lowered)
        if len(found) == MAX_KEYWORDS:
            break
    return found


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _lower_first(text: str) -> str:
    return text if text[:2].isupper() else text[0].lower() + text[1:]


# Question frames per fact shape; the first of each is the historical one. Paraphrases of a fact
# combine a frame with a way of naming the product (Ovadia et al. 2024: a model learns a new fact
# from many variations of it, hardly from one).
DEFINITION_FRAMES = (
    "What does {code} mean on {ref}?",
    "{Ref} shows {code}. What does that mean?",
    "What is {code} on {ref}?",
    "I get {code} on {ref}; what is wrong?",
    "Explain the code {code} of {ref}.",
    "Which problem does {code} report on {ref}?",
)
PROCEDURE_FRAMES = (
    "How do I {goal} on {ref}?",
    "What are the steps to {goal} on {ref}?",
    "How can I {goal} on {ref}?",
    "I need to {goal} on {ref}. What do I do?",
    "What is the procedure to {goal} on {ref}?",
    "Tell me how to {goal} on {ref}.",
)
VALUE_FRAMES = (
    "What is the {subject} of {ref}?",
    "What {subject} does {ref} have?",
    "Tell me the {subject} of {ref}.",
    "How much is the {subject} of {ref}?",
    "For {ref}, what is the {subject}?",
    "Which {subject} is specified for {ref}?",
)
INTERVAL_FRAMES = (
    "How often do I {action} on {ref}?",
    "How often should I {action} on {ref}?",
    "When should I {action} on {ref}?",
    "On {ref}, how often must I {action}?",
    "What is the interval to {action} on {ref}?",
    "How frequently do I {action} on {ref}?",
)
DURATION_FRAMES = (
    "How long do I {action} on {ref}?",
    "How long should I {action} on {ref}?",
    "On {ref}, how long must I {action}?",
    "For how long do I {action} on {ref}?",
    "How much time do I {action} on {ref}?",
    "How long does it take to {action} on {ref}?",
)
SETTING_FRAMES = (
    "What {measure} should I use to {action} on {ref}?",
    "What {measure} do I need to {action} on {ref}?",
    "Which {measure} applies when I {action} on {ref}?",
    "On {ref}, what {measure} is right to {action}?",
    "What is the {measure} to {action} on {ref}?",
    "I need to {action} on {ref}. What {measure}?",
)
FIGURE_FRAMES = (
    "What {measure} is given for {keywords} on {ref}?",
    "What is the {measure} for {keywords} of {ref}?",
    "Which {measure} does {ref} have for {keywords}?",
    "What {measure} applies to {keywords} on {ref}?",
    "Tell me the {measure} for {keywords} on {ref}.",
    "On {ref}, what {measure} goes with {keywords}?",
)
TOPIC_FRAMES = (
    "What does the {topic} of {ref} say about {keywords}?",
    "What should I know about {keywords} on {ref}?",
    "Tell me about {keywords} for {ref}.",
    "What do the {topic} of {ref} say regarding {keywords}?",
    "About {keywords} on {ref}: what applies?",
    "What is specified about {keywords} for {ref}?",
)


def _frames_and_slots(fact: CatalogFact) -> tuple[tuple[str, ...], dict[str, str]]:
    """The frames that fit the fact's shape, and what fills them besides the product."""
    sentence = fact.text.rstrip(".")
    labelled = _LABEL.match(sentence)
    body = labelled.group("rest") if labelled else sentence
    if definition := _DEFINITION.match(body):
        return DEFINITION_FRAMES, {"code": definition.group("code")}
    if procedure := _PROCEDURE.match(body):
        return PROCEDURE_FRAMES, {"goal": procedure.group("goal")}
    if _is_instruction(body) and (instruction := _instruction_question(body)):
        return instruction
    if named := _NAMED_VALUE.match(body):
        subject = re.sub(r"^(the|its|a) ", "", _lower_first(named.group("subject")))
        if not _CLAUSE_WORDS & set(subject.split()):
            return VALUE_FRAMES, {"subject": subject}
    skip = {word.lower() for word in _WORD.findall(fact.product)}
    found = keywords(body, skip)
    topic = fact.section.lower() or "documentation"
    figure = _first_figure(re.split(r"\s+(?:when|if|unless|until)\s+", body, maxsplit=1)[0])
    if found and figure is not None:
        return FIGURE_FRAMES, {"measure": figure[1], "keywords": _listed(found)}
    if not found:
        frames = tuple(frame for frame in TOPIC_FRAMES if "{keywords}" not in frame)
        return frames or ("What does the {topic} of {ref} say?",), {"topic": topic}
    return TOPIC_FRAMES, {"topic": topic, "keywords": _listed(found)}


def _first_figure(text: str) -> tuple[re.Match[str], str] | None:
    """The first figure the text prescribes (not a condition: "above 250 A"), and its measure."""
    found = [(match, measure) for pattern, measure in _FIGURES for match in pattern.finditer(text)]
    return min(found, key=lambda pair: pair[0].start(), default=None)


def _instruction_question(body: str) -> tuple[tuple[str, ...], dict[str, str]] | None:
    """An instruction's first part asked for its interval, duration or setting: "Replace the
    filter every 1,000 hours" asks "How often do I replace the filter?"; None when that part
    prescribes no figure."""
    ends = r",\s+|\s+(?:so that|because|while|when|if|unless|until)\s+"
    part = re.split(ends, body, maxsplit=1)[0]
    if intervals := list(_INTERVAL.finditer(part)):
        return INTERVAL_FRAMES, {"action": _action(part, intervals)}
    figure = _first_figure(part)
    if figure is None:
        return None
    match, measure = figure
    if measure == "time":
        return DURATION_FRAMES, {"action": _action(part, [match])}
    same = [
        found for pattern, kind in _FIGURES if kind == measure for found in pattern.finditer(part)
    ]
    return SETTING_FRAMES, {"measure": measure, "action": _action(part, same)}


def _action(part: str, spans: list[re.Match[str]]) -> str:
    """The instruction without the figures asked for, lowercased first, as a question's verb."""
    kept, at = [], 0
    for span in sorted(spans, key=lambda found: found.start()):
        kept.append(part[at : span.start()])
        at = max(at, span.end())
    kept.append(part[at:])
    action = re.sub(r"\s+(?:or|and)$", "", " ".join("".join(kept).split()).strip(" ,.;:"))
    return _lower_first(re.sub(r"\s+,", ",", action))


def _fill(frame: str, reference: str, slots: dict[str, str]) -> str:
    text = frame.format(ref=reference, Ref=reference[0].upper() + reference[1:], **slots)
    return text[0].upper() + text[1:]


def paraphrases(fact: CatalogFact, seed: int = 0, products: Collection[str] = ()) -> list[str]:
    """Every question the templates ask about the fact, distinct, in a seeded order that walks
    frames and product names together (the first few already vary both). `products` are the
    catalog's product names, which decide the short names that are not ambiguous."""
    frames, slots = _frames_and_slots(fact)
    references = product_references(fact.product, products)
    digest = hashlib.sha256(f"{seed}:{fact.product}:{fact.text}".encode()).digest()
    first_frame, first_reference = digest[1] % len(frames), digest[0] % len(references)
    questions: list[str] = []
    for offset in range(len(frames) * len(references)):
        frame = frames[(first_frame + offset) % len(frames)]
        turn = offset // len(frames) + offset
        reference = references[(first_reference + turn) % len(references)]
        question = _fill(frame, reference, slots)
        if question not in questions:
            questions.append(question)
    return questions


def question_for(fact: CatalogFact, reference: str) -> str:
    """A question the fact answers, naming the product as `reference` does."""
    frames, slots = _frames_and_slots(fact)
    return _fill(frames[0], reference, slots)


def catalog_qa(catalog: Path, seed: int = 0) -> list[QuestionAnswer]:
    """One pair per fact; which way the product is named rotates by a seeded hash of the fact."""
    pairs = []
    facts = catalog_facts(catalog)
    products = {fact.product for fact in facts}
    for fact in facts:
        references = product_references(fact.product, products)
        digest = hashlib.sha256(f"{seed}:{fact.product}:{fact.text}".encode()).digest()
        reference = references[digest[0] % len(references)]
        pairs.append(QuestionAnswer(question_for(fact, reference), fact))
    return pairs
