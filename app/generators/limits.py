"""The parameter ranges each generator backend accepts, and the check that refuses the rest.

A value the backend would refuse (Converse's temperature above 1, TGI's `top_p` of 1.0) is a
client mistake: it is answered with a 422 that names the backend and the limit, before any call
to the backend, instead of the 502 the backend's refusal would become.
"""

from __future__ import annotations

from app.core.errors import ParameterOutOfRange
from app.generators.base import GenerationLimits, GenerationParams, Generator, Interval
from app.settings import GenerationSettings

# Converse: temperature and topP in [0, 1] (InferenceConfiguration in the bedrock-runtime model).
CONVERSE_TEMPERATURE = Interval(0.0, 1.0)
CONVERSE_TOP_P = Interval(0.0, 1.0)
# TGI refuses top_p of 0 or 1 and temperature 0 (greedy decoding is sent as do_sample=false);
# LMI (vLLM) takes the same values. No documented temperature ceiling: the API's own, 2.
TGI_TEMPERATURE = Interval(0.0, 2.0)
TGI_TOP_P = Interval(0.0, 1.0, low_open=True, high_open=True)
# The OpenAI chat completions reference: temperature 0 to 2, top_p 0 to 1.
OPENAI_TEMPERATURE = Interval(0.0, 2.0)
OPENAI_TOP_P = Interval(0.0, 1.0)
# llama.cpp clamps nothing it is given; the API's own ranges apply.
LLAMA_CPP_TEMPERATURE = Interval(0.0, 2.0)
LLAMA_CPP_TOP_P = Interval(0.0, 1.0)

# For the OpenAPI descriptions: the sampling ranges by backend.
TEMPERATURE_BY_BACKEND = {
    "bedrock": CONVERSE_TEMPERATURE,
    "sagemaker": TGI_TEMPERATURE,
    "openai": OPENAI_TEMPERATURE,
    "local": LLAMA_CPP_TEMPERATURE,
}
MAX_TOKENS_SETTING_BY_BACKEND = {
    "bedrock": "FMT_BEDROCK__MAX_OUTPUT_TOKENS",
    "sagemaker": "FMT_SAGEMAKER__CONTEXT_TOKENS",
    "openai": "FMT_OPENAI__CONTEXT_TOKENS",
    "local": "FMT_LOCAL__N_CTX",
}


def check_generation_params(
    backend: str, limits: GenerationLimits, params: GenerationParams
) -> None:
    """Raise a 422 naming `backend` and the limit when `params` fall outside `limits`."""
    found = limits.problems(params)
    if found:
        raise ParameterOutOfRange(
            f"the {backend} generator refuses this request: {'; '.join(found)}"
        )


def within_window(temperature: Interval, top_p: Interval, context_tokens: int) -> GenerationLimits:
    """Sampling ranges, and an answer that may take the whole window but one prompt token."""
    return GenerationLimits(temperature, top_p, context_tokens - 1, context_tokens)


def llama_cpp_limits(context_tokens: int) -> GenerationLimits:
    """An embedded llama.cpp model: the API's sampling ranges within its n_ctx."""
    return within_window(LLAMA_CPP_TEMPERATURE, LLAMA_CPP_TOP_P, context_tokens)


def refuse_unusable_defaults(
    backend: str, limits: GenerationLimits, defaults: GenerationSettings
) -> None:
    """At start-up: a default every request would inherit must fit the backend (ValueError)."""
    params = GenerationParams(max_tokens=defaults.max_tokens, temperature=defaults.temperature)
    found = limits.problems(params)
    if found:
        raise ValueError(
            f"the {backend} generator would refuse every request that keeps the defaults: "
            f"{'; '.join(found)}; change FMT_GENERATION__TEMPERATURE or FMT_GENERATION__MAX_TOKENS"
        )


def check_request(generator: Generator, params: GenerationParams) -> None:
    """The one hook of the request path: `params` against the limits `generator` declares."""
    check_generation_params(generator.name, generator.limits, params)


def describe_temperature_limits() -> str:
    """The OpenAPI description of a request's `temperature`."""
    ranges = "; ".join(f"{name}: {interval}" for name, interval in TEMPERATURE_BY_BACKEND.items())
    return (
        "0 is deterministic. Each generator backend accepts its own range, and a value outside "
        f"the serving backend's range is refused with 422 before any call ({ranges})."
    )


def describe_max_tokens_limits() -> str:
    """The OpenAPI description of a request's `max_tokens`."""
    settings = "; ".join(
        f"{name}: {setting}" for name, setting in MAX_TOKENS_SETTING_BY_BACKEND.items()
    )
    return (
        "Longest answer, in tokens. A value above what the serving backend can produce (its "
        f"output limit, less than its context window) is refused with 422 ({settings})."
    )
