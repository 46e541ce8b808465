"""Monthly cost of each strategy from the editable price table and usage assumptions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError


class CostInputError(ValueError):
    """The price table or the usage assumptions cannot be used."""


class TokenPrice(BaseModel):
    input: float = Field(ge=0, description="USD per million input tokens.")
    output: float = Field(ge=0, description="USD per million output tokens.")


class PriceTable(BaseModel):
    currency: str = "USD"
    vector_store_ocu_hour: float = Field(ge=0)
    bedrock_tokens_per_million: dict[str, TokenPrice]
    sagemaker_hosting_hour: dict[str, float]
    sagemaker_training_hour: dict[str, float]


class UsageAssumptions(BaseModel):
    users: int = Field(ge=0)
    requests_per_user_per_day: float = Field(ge=0)
    days_per_month: float = Field(gt=0)
    input_tokens_per_request: float = Field(ge=0)
    output_tokens_per_request: float = Field(ge=0)
    generator_model: str
    embedding_model: str | None = None
    embedding_tokens_per_request: float = Field(0, ge=0)
    vector_store_ocus: float = Field(ge=0)
    vector_store_hours_per_month: float = Field(ge=0)
    endpoint_instance_type: str
    endpoint_instance_count: int = Field(ge=0)
    endpoint_hours_per_month: float = Field(ge=0)
    training_instance_type: str
    training_minutes_per_month: float = Field(ge=0)

    @property
    def requests_per_month(self) -> float:
        return self.users * self.requests_per_user_per_day * self.days_per_month


@dataclass(frozen=True, slots=True)
class CostLine:
    item: str
    monthly: float
    detail: str


@dataclass(frozen=True, slots=True)
class StrategyCost:
    """Fixed lines do not depend on traffic; `per_request` is the variable part of one request."""

    strategy: str
    fixed: list[CostLine]
    variable: list[CostLine]
    per_request: float
    requests_per_month: float

    @property
    def monthly(self) -> float:
        return sum(line.monthly for line in self.fixed + self.variable)

    @property
    def fixed_monthly(self) -> float:
        return sum(line.monthly for line in self.fixed)

    @property
    def per_thousand_requests(self) -> float:
        """All-in: the month's cost spread over the month's requests."""
        if not self.requests_per_month:
            return float("nan")
        return self.monthly / self.requests_per_month * 1000.0


def _read(path: Path, model: type[PriceTable] | type[UsageAssumptions]) -> object:
    try:
        return model.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as error:
        raise CostInputError(f"{path}: {error}") from error


def load_prices(path: Path) -> PriceTable:
    table = _read(path, PriceTable)
    assert isinstance(table, PriceTable)
    return table


def load_usage(path: Path) -> UsageAssumptions:
    usage = _read(path, UsageAssumptions)
    assert isinstance(usage, UsageAssumptions)
    return usage


def _price(table: dict[str, float], name: str, what: str) -> float:
    if name not in table:
        raise CostInputError(f"no {what} price for {name!r} in the price table")
    return table[name]


def _token_price(prices: PriceTable, model: str) -> TokenPrice:
    if model not in prices.bedrock_tokens_per_million:
        raise CostInputError(f"no token price for {model!r} in the price table")
    return prices.bedrock_tokens_per_million[model]


def _per_request_tokens(prices: PriceTable, usage: UsageAssumptions) -> tuple[float, str]:
    price = _token_price(prices, usage.generator_model)
    cost = (
        usage.input_tokens_per_request * price.input
        + usage.output_tokens_per_request * price.output
    ) / 1e6
    detail = (
        f"{usage.input_tokens_per_request:,.0f} in x ${price.input}/M + "
        f"{usage.output_tokens_per_request:,.0f} out x ${price.output}/M, {usage.generator_model}"
    )
    if usage.embedding_model and usage.embedding_tokens_per_request:
        embedding = _token_price(prices, usage.embedding_model)
        cost += usage.embedding_tokens_per_request * embedding.input / 1e6
        detail += f" + {usage.embedding_tokens_per_request:,.0f} embedding tokens"
    return cost, detail


def _vector_store(prices: PriceTable, usage: UsageAssumptions) -> CostLine:
    monthly = usage.vector_store_ocus * prices.vector_store_ocu_hour
    monthly *= usage.vector_store_hours_per_month
    detail = (
        f"{usage.vector_store_ocus:g} OCU x ${prices.vector_store_ocu_hour}/h x "
        f"{usage.vector_store_hours_per_month:g} h"
    )
    return CostLine("vector store (OpenSearch Serverless)", monthly, detail)


def _endpoint(prices: PriceTable, usage: UsageAssumptions) -> CostLine:
    hourly = _price(prices.sagemaker_hosting_hour, usage.endpoint_instance_type, "hosting")
    monthly = usage.endpoint_instance_count * hourly * usage.endpoint_hours_per_month
    detail = (
        f"{usage.endpoint_instance_count} x {usage.endpoint_instance_type} x ${hourly}/h x "
        f"{usage.endpoint_hours_per_month:g} h"
    )
    return CostLine("tuned model endpoint (SageMaker)", monthly, detail)


def _training(prices: PriceTable, usage: UsageAssumptions) -> CostLine:
    hourly = _price(prices.sagemaker_training_hour, usage.training_instance_type, "training")
    monthly = hourly * usage.training_minutes_per_month / 60.0
    detail = (
        f"{usage.training_minutes_per_month:g} min x {usage.training_instance_type} x ${hourly}/h"
    )
    return CostLine("fine-tuning job (SageMaker)", monthly, detail)


def strategy_costs(prices: PriceTable, usage: UsageAssumptions) -> dict[str, StrategyCost]:
    """RAG pays the vector store and Bedrock tokens; fine-tuning pays training and an endpoint
    that is up whether asked or not; hybrid pays the vector store, training and the endpoint."""
    requests = usage.requests_per_month
    per_request, token_detail = _per_request_tokens(prices, usage)
    tokens = CostLine(
        "generation tokens (Bedrock)",
        per_request * requests,
        f"{requests:,.0f} requests x ({token_detail})",
    )
    vector_store, endpoint, training = (
        _vector_store(prices, usage),
        _endpoint(prices, usage),
        _training(prices, usage),
    )
    return {
        "rag": StrategyCost("rag", [vector_store], [tokens], per_request, requests),
        "finetuned": StrategyCost("finetuned", [endpoint, training], [], 0.0, requests),
        "hybrid": StrategyCost("hybrid", [vector_store, endpoint, training], [], 0.0, requests),
    }


def break_even_requests(rag: StrategyCost, finetuned: StrategyCost) -> float | None:
    """Monthly requests at which RAG's token bill reaches the endpoint's fixed cost."""
    if rag.per_request <= 0:
        return None
    return max(0.0, (finetuned.fixed_monthly - rag.fixed_monthly) / rag.per_request)


def with_measured_tokens(
    usage: UsageAssumptions, input_tokens: float | None, output_tokens: float | None
) -> UsageAssumptions:
    """The same assumptions with the token counts measured in a run."""
    update: dict[str, float] = {}
    if input_tokens is not None:
        update["input_tokens_per_request"] = input_tokens
    if output_tokens is not None:
        update["output_tokens_per_request"] = output_tokens
    return usage.model_copy(update=update)
