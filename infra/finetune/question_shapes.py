"""A catalog sentence's shape, and the questions users ask of that shape.

"E-21 means …" is asked "What does E-21 mean on …?"; "Replace the filter every 1,000 hours" is
asked "How often do I replace the filter on …?". Each shape has six frames, filled with the
sentence's own words and, by the caller, a way of naming the product (`{ref}`). No frame puts a
figure the sentence prescribes into the question: the answer must come from the model.
"""

from __future__ import annotations

import re

from infra.finetune.measures import CODE, INTERVAL, figures, is_unit, measures, prescribed

Frames = tuple[str, ...]
Slots = dict[str, str]

_DEFINITION = re.compile(rf"^(?P<code>{CODE})\s+(?P<verb>is|means)\s+(?P<meaning>.+)$")
_PROCEDURE = re.compile(r"^To (?P<goal>[^,]{4,80}),\s+(?P<steps>.+)$")
_NAMED_VALUE = re.compile(
    r"^(?P<subject>(?:The |Its |A )?[A-Za-z][\w\- /]{2,50}?) (?P<verb>is|are) "
    r"(?P<value>(?:rated |set |about |up to |below |at |from )?[0-9].*)$"
)
_SECOND_VALUE = re.compile(
    r"\band (?:the |its )?(?P<subject>[a-z][\w\- /]{2,50}?) (?:is|are) "
    r"(?:rated |set |about |up to |below |at |from )?[0-9]"
)
LABEL = re.compile(r"^(?P<label>[A-Z][A-Za-z ]{2,30}):\s+(?P<rest>.+)$")
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
_MEANING = re.compile(r"^(?P<subject>[A-Z][^,;:]{3,60}?) means (?P<meaning>.+)$")
_PROHIBITION = re.compile(r"^(?:Never|Do not|Don't) (?P<rest>[a-z].+)$")
_CONDITIONED = re.compile(
    r"^(?P<condition>(?:When|Before|After|During|While|If|On|For|In) [^,]{3,80}), (?P<rest>.+)$"
)


def keywords(text: str, skip: set[str]) -> list[str]:
    """The first distinct content words: no stop words, numbers, units, or words of the product
    name."""
    found: list[str] = []
    for word in _WORD.findall(text):
        lowered = word.lower()
        if lowered in _STOP_WORDS or lowered in skip or lowered in found or len(lowered) < 3:
            continue
        if is_unit(word):
            continue
        found.append(lowered)
        if len(found) == MAX_KEYWORDS:
            break
    return found


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _lower_first(text: str) -> str:
    """The first letter lowercased ("The ram" -> "the ram"), unless it starts a code ("PG2")."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


# Question frames per fact shape. Paraphrases of a fact
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
BARE_FIGURE_FRAMES = (
    "What {measure} does {ref} have?",
    "What is the {measure} of {ref}?",
    "Which {measure} is given for {ref}?",
    "Tell me the {measure} of {ref}.",
    "On {ref}, what is the {measure}?",
    "How about the {measure} of {ref}?",
)
PROHIBITION_FRAMES = (
    "Is it OK to {action} on {ref}?",
    "Can I {action} on {ref}?",
    "Am I allowed to {action} on {ref}?",
    "May I {action} on {ref}?",
    "On {ref}, is it safe to {action}?",
    "What are the limits if I {action} on {ref}?",
)
CONDITION_FRAMES = (
    "What should I do {condition} on {ref}?",
    "What do I need to do {condition} on {ref}?",
    "What is required {condition} on {ref}?",
    "How should I proceed {condition} on {ref}?",
    "On {ref}, what must I do {condition}?",
    "What applies {condition} on {ref}?",
)
TOPIC_FRAMES = (
    "What does the {topic} of {ref} say about {keywords}?",
    "What should I know about {keywords} on {ref}?",
    "Tell me about {keywords} for {ref}.",
    "What do the {topic} of {ref} say regarding {keywords}?",
    "About {keywords} on {ref}: what applies?",
    "What is specified about {keywords} for {ref}?",
)


def shape_of(text: str, product: str, section: str) -> tuple[Frames, Slots]:
    """The frames that fit the sentence's shape, and what fills them besides the product."""
    sentence = text.rstrip(".")
    labelled = LABEL.match(sentence)
    body = labelled.group("rest") if labelled else sentence
    if definition := _DEFINITION.match(body):
        return DEFINITION_FRAMES, {"code": definition.group("code")}
    if procedure := _PROCEDURE.match(body):
        return PROCEDURE_FRAMES, {"goal": procedure.group("goal")}
    if instruction := _instruction_shape(body):
        return instruction
    if meaning := _MEANING.match(body):
        subject = _action(meaning.group("subject"), figures(meaning.group("subject")))
        return DEFINITION_FRAMES, {"code": subject}
    if named := _NAMED_VALUE.match(body):
        subject = re.sub(r"^(the|its|a) ", "", _lower_first(named.group("subject")))
        if not _CLAUSE_WORDS & set(subject.split()):
            # "The ram stroke is 300 mm and the open daylight … is 650 mm": both are asked.
            if second := _SECOND_VALUE.search(named.group("value")):
                subject = f"{subject} and the {second.group('subject')}"
            return VALUE_FRAMES, {"subject": subject}
    skip = {word.lower() for word in _WORD.findall(product)}
    found = keywords(body, skip)
    topic = section.lower() or "documentation"
    found_measures = measures(re.split(r"\s+(?:when|if|unless|until)\s+", body, maxsplit=1)[0])
    if found_measures:
        # Each frame asks for one of the sentence's measures in turn ("What weight ...?",
        # "What noise level ...?"), so a fact's paraphrases ask for its different figures.
        frames = tuple(
            frame.replace("{measure}", found_measures[index % len(found_measures)])
            for index, frame in enumerate(FIGURE_FRAMES if found else BARE_FIGURE_FRAMES)
        )
        return frames, {"keywords": _listed(found)} if found else {}
    if not found:
        frames = tuple(frame for frame in TOPIC_FRAMES if "{keywords}" not in frame)
        return frames or ("What does the {topic} of {ref} say?",), {"topic": topic}
    return TOPIC_FRAMES, {"topic": topic, "keywords": _listed(found)}


def _instruction_shape(body: str) -> tuple[Frames, Slots] | None:
    """Questions for an instruction, one after a colon ("…after shutdown: wait at least 5
    minutes…"), one behind a condition ("When changing cartridges, wear…"), or a prohibition
    ("Never run … for more than 60 seconds")."""
    after_colon = body.rsplit(": ", 1)[-1]
    if is_instruction(after_colon):
        return _instruction_question(after_colon)
    if prohibition := _PROHIBITION.match(body):
        ends = r",\s+|:\s+|\s+(?:because|so that|which)\s+"
        part = re.split(ends, prohibition.group("rest"), maxsplit=1)[0]
        return PROHIBITION_FRAMES, {"action": _action(part, figures(part))}
    conditioned = _CONDITIONED.match(body)
    if conditioned is None or not is_instruction(conditioned.group("rest")):
        return None
    condition = _lower_first(conditioned.group("condition"))
    if shown := re.fullmatch(rf"on ({CODE})", condition):
        condition = f"when it shows {shown.group(1)}"
    asked = _instruction_question(conditioned.group("rest"))
    if asked is None:
        return CONDITION_FRAMES, {"condition": condition}
    frames, slots = asked
    return frames, {**slots, "action": f"{slots['action']} {condition}"}


def _instruction_question(body: str) -> tuple[Frames, Slots] | None:
    """An instruction's first part asked for its interval, duration or setting: "Replace the
    filter every 1,000 hours" asks "How often do I replace the filter?"; None when that part
    prescribes no figure. No figure of the part stays in the question."""
    ends = r",\s+|\s+(?:so that|because|while|when|if|unless|until)\s+"
    part = re.split(ends, body, maxsplit=1)[0]
    found = prescribed(part)
    spans = [match for match, _ in found]
    if intervals := list(INTERVAL.finditer(part)):
        return INTERVAL_FRAMES, {"action": _action(part, [*intervals, *spans])}
    if not found:
        return None
    measure = found[0][1]
    if measure == "time":
        return DURATION_FRAMES, {"action": _action(part, spans)}
    return SETTING_FRAMES, {"measure": measure, "action": _action(part, spans)}


def _action(part: str, spans: list[re.Match[str]]) -> str:
    """The instruction without the figures asked for, lowercased first, as a question's verb."""
    kept, at = [], 0
    for span in sorted(spans, key=lambda found: found.start()):
        kept.append(part[at : max(at, span.start())])
        at = max(at, span.end())
    kept.append(part[at:])
    action = re.sub(r"\s+(?:or|and)$", "", " ".join("".join(kept).split()).strip(" ,.;:"))
    return _lower_first(re.sub(r"\s+,", ",", action))


def is_instruction(text: str) -> bool:
    """The text starts with an instruction's verb: "Replace …", "Re-check …"."""
    first = text.split(maxsplit=1)[0].lower() if text.strip() else ""
    return first.removeprefix("re-") in _INSTRUCTION_VERBS
