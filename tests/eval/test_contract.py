"""The runner's own types against the service's OpenAPI document, and no `app` in the runner."""

from __future__ import annotations

import ast
import subprocess
import sys
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from eval.contract import AnswerResponse, ChatTurn, ErrorResponse, ReadyResponse, answer_request
from eval.runner import served_strategies
from eval.settings import PROJECT_ROOT

from .conftest import fake_app

JsonSchema = dict[str, Any]


def _resolve(schema: JsonSchema, definitions: dict[str, JsonSchema]) -> JsonSchema:
    """Follow `$ref`, and reduce `anyOf: [X, null]` to X (an optional field)."""
    while "$ref" in schema:
        schema = definitions[schema["$ref"].rsplit("/", 1)[-1]]
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        return _resolve(options[0], definitions)
    return schema


def assert_reads(
    ours: JsonSchema,
    theirs: JsonSchema,
    ours_defs: dict[str, JsonSchema],
    their_defs: dict[str, JsonSchema],
    where: str,
) -> None:
    """Every field our model requires is one the service always sends, with the same type,
    all the way down."""
    ours, theirs = _resolve(ours, ours_defs), _resolve(theirs, their_defs)
    assert ours.get("type") == theirs.get("type"), f"{where}: {ours} vs {theirs}"
    if ours.get("type") == "array":
        assert_reads(ours["items"], theirs["items"], ours_defs, their_defs, f"{where}[]")
    for name in ours.get("required", []):
        assert name in theirs.get("required", []), f"{where}.{name} is not required by the service"
        assert_reads(
            ours["properties"][name],
            theirs["properties"][name],
            ours_defs,
            their_defs,
            f"{where}.{name}",
        )
    for name, schema in ours.get("properties", {}).items():
        if name in theirs.get("properties", {}):
            assert_reads(
                schema, theirs["properties"][name], ours_defs, their_defs, f"{where}.{name}"
            )


@pytest.fixture(scope="module")
def openapi() -> JsonSchema:
    document: JsonSchema = fake_app().openapi()
    return document


def _response_schema(openapi: JsonSchema, path: str, method: str, status: str) -> JsonSchema:
    content = openapi["paths"][path][method]["responses"][status]["content"]
    schema: JsonSchema = content["application/json"]["schema"]
    return schema


def _check(model: type[BaseModel], schema: JsonSchema, openapi: JsonSchema, where: str) -> None:
    ours = model.model_json_schema()
    assert_reads(ours, schema, ours.get("$defs", {}), openapi["components"]["schemas"], where)


@pytest.mark.parametrize("strategy", ["rag", "finetuned", "hybrid"])
def test_answer_model_reads_what_each_strategy_sends(openapi: JsonSchema, strategy: str) -> None:
    schema = _response_schema(openapi, f"/{strategy}", "post", "200")
    _check(AnswerResponse, schema, openapi, strategy)


def test_error_model_reads_the_services_error_body(openapi: JsonSchema) -> None:
    errors = [
        (path, status)
        for path, operations in openapi["paths"].items()
        for status, response in operations.get("post", {}).get("responses", {}).items()
        if status.startswith(("4", "5")) and "application/json" in response.get("content", {})
    ]
    assert errors, "the service documents no error response"
    for path, status in errors:
        if path.startswith("/v1/"):
            continue  # the OpenAI dialect has OpenAI's error shape, not ours
        schema = _response_schema(openapi, path, "post", status)
        _check(ErrorResponse, schema, openapi, f"{path} {status}")


def _request_schema(openapi: JsonSchema, path: str) -> JsonSchema:
    """The request body's schema, resolvable against the whole document."""
    body = openapi["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return {**body["schema"], "components": openapi["components"]}


@pytest.mark.parametrize("strategy", ["rag", "finetuned", "hybrid"])
def test_the_question_the_runner_sends_is_a_valid_request(
    openapi: JsonSchema, strategy: str
) -> None:
    schema = _request_schema(openapi, f"/{strategy}")
    jsonschema.validate(answer_request("What pressure?", None), schema)


def test_a_conversation_the_runner_sends_is_a_valid_request(openapi: JsonSchema) -> None:
    schema = _request_schema(openapi, "/rag")
    request = _resolve(schema, openapi["components"]["schemas"])
    if "messages" not in request.get("properties", {}):
        pytest.skip("this service takes no conversations yet (issue 23)")
    turns = [
        ChatTurn(role="user", content="The KX-420?"),
        ChatTurn(role="user", content="And E-33?"),
    ]
    jsonschema.validate(answer_request(None, turns), schema)


def test_ready_model_reads_ready(openapi: JsonSchema) -> None:
    _check(ReadyResponse, _response_schema(openapi, "/ready", "get", "200"), openapi, "/ready")


def test_the_strategies_are_read_from_the_document(openapi: JsonSchema) -> None:
    assert served_strategies(openapi) == ["rag", "finetuned", "hybrid"]  # not compare, ready
    assert served_strategies(None) is None


def test_a_changed_contract_is_caught(openapi: JsonSchema) -> None:
    """The check is not vacuous: a field the service stopped sending fails it."""

    class Stricter(AnswerResponse):
        mood: str

    schema = _response_schema(openapi, "/rag", "post", "200")
    with pytest.raises(AssertionError, match="mood"):
        _check(Stricter, schema, openapi, "rag")


def _imports(path: Any) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_runner_imports_nothing_from_app() -> None:
    """eval/retrieval measures the local index in process: the one named exception."""
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "eval").rglob("*.py")
        if "retrieval" not in path.relative_to(PROJECT_ROOT / "eval").parts
        and {"app", "infra"} & _imports(path)
    ]
    assert offenders == []


def test_the_runner_loads_without_the_service_stack() -> None:
    """Every command module imports with app, llama.cpp, boto3 and the training stack
    unimportable, as in a `pip install '.[eval]'` environment."""
    blocked = ["app", "infra", "llama_cpp", "sagemaker", "peft", "gguf", "boto3", "botocore"]
    script = (
        "import sys\n"
        f"for name in {blocked!r}:\n"
        "    sys.modules[name] = None\n"
        "import eval.cli, eval.runner, eval.compare, eval.gate, eval.report.compare_html\n"
        "import eval.judges.jury, eval.metrics.bertscore\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
