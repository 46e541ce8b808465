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
    token_source: str = Field(
        "usage assumptions", description="Where the token counts come from, shown in the table."
    )

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


def _generation_tokens(prices: PriceTable, usage: UsageAssumptions) -> CostLine:
    price = _token_price(prices, usage.generator_model)
    per_request = (
        usage.input_tokens_per_request * price.input
        + usage.output_tokens_per_request * price.output
    ) / 1e6
    requests = usage.requests_per_month
    detail = (
        f"{requests:,.0f} requests/month x ({usage.input_tokens_per_request:,.0f} in x "
        f"${price.input}/M + {usage.output_tokens_per_request:,.0f} out x ${price.output}/M), "
        f"{usage.generator_model}; token counts: {usage.token_source}"
    )
    return CostLine("generation tokens (Bedrock)", per_request * requests, detail)


def _embedding_tokens(prices: PriceTable, usage: UsageAssumptions) -> CostLine | None:
    """Every strategy that retrieves embeds its query: RAG and hybrid alike."""
    if not usage.embedding_model or not usage.embedding_tokens_per_request:
        return None
    price = _token_price(prices, usage.embedding_model).input
    requests = usage.requests_per_month
    monthly = requests * usage.embedding_tokens_per_request * price / 1e6
    detail = (
        f"{requests:,.0f} requests/month x {usage.embedding_tokens_per_request:,.0f} query "
        f"tokens x ${price}/M, {usage.embedding_model}"
    )
    return CostLine("query embeddings (Bedrock)", monthly, detail)


def _vector_store(prices: PriceTable, usage: UsageAssumptions) -> CostLine:
    monthly = usage.vector_store_ocus * prices.vector_store_ocu_hour
    monthly *= usage.vector_store_hours_per_month
    detail = (
        f"{usage.vector_store_ocus:g} OCU x ${prices.vector_store_ocu_hour}/h x "
        f"{usage.vector_store_hours_per_month:g} h/month, billed whether queried or not"
    )
    return CostLine("vector store (OpenSearch Serverless)", monthly, detail)


def _endpoint(prices: PriceTable, usage: UsageAssumptions) -> CostLine:
    hourly = _price(prices.sagemaker_hosting_hour, usage.endpoint_instance_type, "hosting")
    monthly = usage.endpoint_instance_count * hourly * usage.endpoint_hours_per_month
    detail = (
        f"{usage.endpoint_instance_count} x {usage.endpoint_instance_type} x ${hourly}/h x "
        f"{usage.endpoint_hours_per_month:g} h/month, up whether asked or not; no autoscaling"
    )
    return CostLine("tuned model endpoint (SageMaker)", monthly, detail)


def _training(prices: PriceTable, usage: UsageAssumptions) -> CostLine:
    hourly = _price(prices.sagemaker_training_hour, usage.training_instance_type, "training")
    monthly = hourly * usage.training_minutes_per_month / 60.0
    detail = (
        f"{usage.training_minutes_per_month:g} min/month of {usage.training_instance_type} x "
        f"${hourly}/h (one retraining a month)"
    )
    return CostLine("fine-tuning job (SageMaker)", monthly, detail)


def _per_request(lines: list[CostLine], requests: float) -> float:
    return sum(line.monthly for line in lines) / requests if requests else 0.0


def strategy_costs(prices: PriceTable, usage: UsageAssumptions) -> dict[str, StrategyCost]:
    """RAG pays the vector store, query embeddings and Bedrock tokens; fine-tuning pays training
    and an endpoint that is up whether asked or not; hybrid pays the vector store, query
    embeddings, training and the endpoint."""
    requests = usage.requests_per_month
    embeddings = [line] if (line := _embedding_tokens(prices, usage)) else []
    rag_variable = [_generation_tokens(prices, usage), *embeddings]
    vector_store, endpoint, training = (
        _vector_store(prices, usage),
        _endpoint(prices, usage),
        _training(prices, usage),
    )
    return {
        "rag": StrategyCost(
            "rag", [vector_store], rag_variable, _per_request(rag_variable, requests), requests
        ),
        "finetuned": StrategyCost("finetuned", [endpoint, training], [], 0.0, requests),
        "hybrid": StrategyCost(
            "hybrid",
            [vector_store, endpoint, training],
            embeddings,
            _per_request(embeddings, requests),
            requests,
        ),
    }


def hours_mismatch(usage: UsageAssumptions) -> str | None:
    """The always-on resources priced over months of different lengths, said out loud."""
    if usage.vector_store_hours_per_month == usage.endpoint_hours_per_month:
        return None
    return (
        f"the vector store is priced over {usage.vector_store_hours_per_month:g} h/month and "
        f"the endpoint over {usage.endpoint_hours_per_month:g} h/month: not the same month"
    )


def break_even_requests(rag: StrategyCost, finetuned: StrategyCost) -> float | None:
    """Monthly requests at which RAG's token bill reaches the endpoint's fixed cost."""
    if rag.per_request <= 0:
        return None
    return max(0.0, (finetuned.fixed_monthly - rag.fixed_monthly) / rag.per_request)


def with_measured_tokens(
    usage: UsageAssumptions,
    input_tokens: float | None,
    output_tokens: float | None,
    tokenizer: str = "the service's model",
) -> UsageAssumptions:
    """The same assumptions with the token counts measured in a run. The counts are the
    serving model's tokenizer's, priced at the priced model's rates: the table says so."""
    update: dict[str, float | str] = {
        "token_source": f"measured in a run with {tokenizer}'s tokenizer, priced as "
        f"{usage.generator_model} tokens (another tokenizer counts differently)"
    }
    if input_tokens is not None:
        update["input_tokens_per_request"] = input_tokens
    if output_tokens is not None:
        update["output_tokens_per_request"] = output_tokens
    return usage.model_copy(update=update)
