"""Tabular catalogs: a CSV row, or a JSON / JSON Lines record, per product; fields are sections."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from app.catalog.model import Block
from app.catalog.readers.base import ReadLimits, UnreadableFile, check_text_size
from app.catalog.readers.text import decode_text

# Field names that hold the product's name, in order of preference (case and spacing ignored).
NAME_FIELDS = ("name", "product", "product name", "product_name", "title", "model")
_DELIMITERS = ",;\t|"
FIELD_MAX_WORDS = 3


def _name_field(fields: Iterable[str]) -> str | None:
    by_key = {field.strip().lower().replace("_", " "): field for field in fields}
    for candidate in NAME_FIELDS:
        field = by_key.get(candidate.replace("_", " "))
        if field is not None:
            return field
    return None


def _flatten(value: object) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {_flatten(item)}" for key, item in value.items())
    if isinstance(value, list):
        return "; ".join(_flatten(item) for item in value)
    return "" if value is None else " ".join(str(value).split())


def _label(field: str) -> str:
    """A field name as a heading: `product_id` -> `Product id`."""
    label = " ".join(field.replace("_", " ").split())
    return label[:1].upper() + label[1:]


def record_blocks(records: Iterable[Mapping[str, object]]) -> list[Block]:
    """One product per record, named by its name field (else its first field)."""
    blocks: list[Block] = []
    for record in records:
        keys = [str(key) for key in record]
        if not keys:
            continue
        name_field = _name_field(keys) or keys[0]
        name = _flatten(record.get(name_field))
        if not name:
            continue
        blocks.append(Block("product", name))
        fields = {
            _label(str(field)): text
            for field, value in record.items()
            if str(field) != name_field and (text := _flatten(value))
        }
        # Short fields (a code, a price) are the product's attributes; longer ones its sections.
        for field, text in fields.items():
            if len(text.split()) <= FIELD_MAX_WORDS:
                blocks.append(Block("text", f"{field}: {text}"))
        for field, text in fields.items():
            if len(text.split()) > FIELD_MAX_WORDS:
                blocks.append(Block("section", field))
                blocks.append(Block("text", text))
    return blocks


def json_depth(value: object) -> int:
    """How deep the arrays and objects of a parsed JSON value nest (without recursing)."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, Mapping):
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
        else:
            continue
        deepest = max(deepest, depth + 1)
    return deepest


def _parse_json(text: str, limits: ReadLimits) -> object:
    """The JSON value; UnreadableFile when it nests deeper than the limit (what reads it
    afterwards recurses once per level). The C parser refuses a nesting deeper than the
    interpreter's recursion limit itself, with RecursionError, before using much memory."""
    too_deep = f"JSON nested deeper than FMT_DOCUMENTS__MAX_JSON_DEPTH={limits.max_json_depth}"
    try:
        value = json.loads(text)
    except RecursionError as error:
        raise UnreadableFile(too_deep) from error
    if json_depth(value) > limits.max_json_depth:
        raise UnreadableFile(too_deep)
    return value


def read_csv(path: Path, limits: ReadLimits) -> list[Block]:
    text = decode_text(path.read_bytes())
    check_text_size(len(text), limits)
    try:
        # Only the delimiter is guessed: the sniffer's quoting guesses fail on quoted quotes.
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise UnreadableFile(f"not a readable CSV file ({error})") from error
    return record_blocks({key: value for key, value in row.items() if key} for row in rows)


def _records_of(document: object) -> list[Mapping[str, object]]:
    if isinstance(document, Mapping):
        lists = [
            value
            for value in document.values()
            if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value)
        ]
        # {"products": [{...}, ...]} holds the records; any other object is one record.
        document = lists[0] if len(lists) == 1 else [document]
    if not isinstance(document, list):
        raise UnreadableFile("JSON holds no objects to read as products")
    return [item for item in document if isinstance(item, Mapping)]


def read_json(path: Path, limits: ReadLimits) -> list[Block]:
    text = decode_text(path.read_bytes())
    check_text_size(len(text), limits)
    try:
        document = _parse_json(text, limits)
    except json.JSONDecodeError as error:
        raise UnreadableFile(f"not valid JSON ({error})") from error
    return record_blocks(_records_of(document))


def read_jsonl(path: Path, limits: ReadLimits) -> list[Block]:
    text = decode_text(path.read_bytes())
    check_text_size(len(text), limits)
    records: list[Mapping[str, object]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = _parse_json(line, limits)
        except json.JSONDecodeError as error:
            raise UnreadableFile(f"line {number} is not valid JSON ({error.msg})") from error
        records.extend(_records_of(record))
    return record_blocks(records)
