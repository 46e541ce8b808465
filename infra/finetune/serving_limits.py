"""The longest sequence a serving container can hold on an instance's GPUs.

Llama 3.1 declares a 131,072-token context; its KV cache at that length does not fit next to the
weights on a one-GPU instance, and LMI (vLLM) then refuses to start ("The model's max seq len
(131072) is larger than the maximum number of tokens that can be stored in KV cache"). The
length is set from the GPU memory the SDK lists per instance type
(`sagemaker.core.instance_types_gpu_info`), the weights and the KV cache per token of the model.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

# What each container family reads as its maximum sequence length (in the order given).
LMI_LIMITS = ("OPTION_MAX_MODEL_LEN",)
TGI_LIMITS = ("MAX_TOTAL_TOKENS",)
# vLLM's default share of GPU memory; the document may set another (LMI / TGI variable).
DEFAULT_GPU_MEMORY_UTILIZATION = 0.9
_UTILIZATION_VARIABLES = ("OPTION_GPU_MEMORY_UTILIZATION", "CUDA_MEMORY_FRACTION")
_GPU_COUNT_VARIABLES = ("OPTION_TENSOR_PARALLEL_DEGREE", "SM_NUM_GPUS")
_MIB = 2**20


class ServingLimitError(ValueError):
    """No sequence length fits, or the instance's GPU memory is unknown."""


class ModelShape(BaseModel):
    """The served model's size (`FMT_FINETUNE__SAGEMAKER__MODEL_SHAPE__*`); the defaults are
    Llama 3.1 8B's (its config.json: 32 layers, 8 KV heads of 128, 131,072 positions)."""

    parameters: float = Field(8.03e9, gt=0, description="Weights, counted.")
    bytes_per_parameter: int = Field(2, ge=1, description="2: bfloat16 weights.")
    layers: int = Field(32, ge=1)
    kv_heads: int = Field(8, ge=1)
    head_dim: int = Field(128, ge=1)
    kv_bytes: int = Field(2, ge=1, description="Bytes per KV cache value (2: 16-bit cache).")
    context_tokens: int = Field(131_072, ge=1, description="The model's own context length.")
    reserve_mib_per_gpu: int = Field(
        2048, ge=0, description="Activations, CUDA graphs and the runtime, per GPU."
    )
    min_sequences: int = Field(
        4, ge=1, description="Full-length sequences the KV cache must hold at once."
    )

    @property
    def kv_bytes_per_token(self) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * self.kv_bytes


def container_family(image: str) -> str | None:
    """`lmi` (DJL / LMI images), `tgi` (Hugging Face TGI images) or None."""
    repository = image.rsplit("/", 1)[-1].split(":", 1)[0]
    if "djl" in repository or "lmi" in repository:
        return "lmi"
    if "tgi" in repository or "text-generation-inference" in repository:
        return "tgi"
    return None


def _number(environment: dict[str, str], names: tuple[str, ...]) -> float | None:
    for name in names:
        value = environment.get(name, "")
        if re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
            return float(value)
    return None


def max_model_len(
    shape: ModelShape, gpu_count: int, gpu_memory_mib: int, utilization: float
) -> int:
    """The longest sequence of which `min_sequences` fit in the KV cache, in steps of 1,024."""
    usable_mib = (
        gpu_memory_mib * utilization
        - shape.parameters * shape.bytes_per_parameter / _MIB
        - shape.reserve_mib_per_gpu * gpu_count
    )
    cache_tokens = int(usable_mib * _MIB) // shape.kv_bytes_per_token
    length = min(shape.context_tokens, cache_tokens // shape.min_sequences) // 1024 * 1024
    if length < 1024:
        raise ServingLimitError(
            f"{gpu_count} GPU(s) with {gpu_memory_mib} MiB leave room for {cache_tokens} tokens "
            "of KV cache: choose a larger FMT_FINETUNE__SAGEMAKER__ENDPOINT_INSTANCE_TYPE"
        )
    return length


def gpu_memory(instance_type: str, region: str, environment: dict[str, str]) -> tuple[int, int]:
    """(GPUs the container uses, their memory in MiB) from the SDK's table of instance types."""
    from sagemaker.core import instance_types_gpu_info

    info = instance_types_gpu_info.retrieve(region).get(instance_type)
    if info is None:
        raise ServingLimitError(
            f"the SageMaker SDK lists no GPU memory for {instance_type} in {region}: set "
            "FMT_FINETUNE__SAGEMAKER__MAX_MODEL_LEN"
        )
    count = int(info["Count"])
    used = _number(environment, _GPU_COUNT_VARIABLES)
    used_count = min(count, int(used)) if used else count
    return used_count, int(info["TotalGpuMemoryInMiB"]) * used_count // count


def serving_limit_environment(
    image: str,
    environment: dict[str, str],
    instance_type: str,
    region: str,
    shape: ModelShape,
    configured: int | None,
) -> dict[str, str]:
    """The variables that cap the sequence length; none when the document already caps it."""
    family = container_family(image)
    if family is None:
        return {}
    limits = LMI_LIMITS if family == "lmi" else TGI_LIMITS
    if configured is None and any(name in environment for name in limits):
        return {}
    if configured is None:
        gpus, memory = gpu_memory(instance_type, region, environment)
        utilization = _number(environment, _UTILIZATION_VARIABLES)
        configured = max_model_len(
            shape, gpus, memory, utilization or DEFAULT_GPU_MEMORY_UTILIZATION
        )
    if family == "lmi":
        return {"OPTION_MAX_MODEL_LEN": str(configured)}
    # TGI refuses MAX_INPUT_TOKENS beside its older name; the published documents use
    # input = total - 1 (MAX_INPUT_LENGTH 4095, MAX_TOTAL_TOKENS 4096).
    input_name = "MAX_INPUT_LENGTH" if "MAX_INPUT_LENGTH" in environment else "MAX_INPUT_TOKENS"
    return {"MAX_TOTAL_TOKENS": str(configured), input_name: str(configured - 1)}
