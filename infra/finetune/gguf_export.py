"""A peft LoRA of a llama model as a llama.cpp LoRA GGUF, the way convert_lora_to_gguf.py does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np
import torch

LORA_A_SUFFIX = ".lora_A.weight"
LORA_B_SUFFIX = ".lora_B.weight"


@dataclass(frozen=True, slots=True)
class LlamaShape:
    """What the name mapping and the q/k permutation need to know of the base model."""

    block_count: int
    head_count: int
    head_count_kv: int


class AdapterExportError(ValueError):
    """The adapter holds something llama.cpp's llama architecture cannot apply."""


def hf_base_name(peft_name: str) -> str:
    """`base_model.model.model.layers.0.mlp.up_proj.lora_A.weight` -> `model.layers.0...weight`."""
    name = peft_name.removeprefix("base_model.model.")
    return name.replace(LORA_A_SUFFIX, ".weight").replace(LORA_B_SUFFIX, ".weight")


def gguf_base_name(hf_name: str, block_count: int) -> str:
    """The GGUF tensor name of a Hugging Face llama weight, from gguf's own TensorNameMap."""
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, block_count)
    mapped = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
    if mapped is None:
        raise AdapterExportError(f"no GGUF name for {hf_name}")
    return str(mapped)


def permute_rows(weight: torch.Tensor, head_count: int) -> torch.Tensor:
    """llama.cpp's q/k row permutation (LlamaModel.permute in convert_hf_to_gguf.py).

    Hugging Face llama weights pair rotary dimensions as halves; llama.cpp's GGUF pairs them
    interleaved. The converter permutes q_proj/k_proj output rows, so a LoRA's B matrix (whose
    rows are those outputs) must be permuted the same way.
    """
    rows = weight.shape[0]
    return (
        weight.reshape(head_count, 2, rows // head_count // 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


def lora_tensors(
    state: Mapping[str, torch.Tensor], shape: LlamaShape, permute_qk: bool = True
) -> list[tuple[str, np.ndarray]]:
    """(GGUF name, float32 array): `<name>.weight.lora_a` is A (r x in), `.lora_b` is B (out x r).

    `permute_qk=False` exists only so tests can show that skipping the permutation breaks it.
    """
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for peft_name, tensor in state.items():
        if peft_name.endswith(LORA_A_SUFFIX):
            part = "a"
        elif peft_name.endswith(LORA_B_SUFFIX):
            part = "b"
        else:
            raise AdapterExportError(f"not a LoRA A/B tensor: {peft_name}")
        pairs.setdefault(hf_base_name(peft_name), {})[part] = tensor.detach().float().cpu()
    tensors: list[tuple[str, np.ndarray]] = []
    for hf_name in sorted(pairs):
        pair = pairs[hf_name]
        if set(pair) != {"a", "b"}:
            raise AdapterExportError(f"{hf_name} lacks its LoRA A or B")
        lora_a, lora_b = pair["a"], pair["b"]
        if permute_qk and hf_name.endswith("q_proj.weight"):
            lora_b = permute_rows(lora_b, shape.head_count)
        elif permute_qk and hf_name.endswith("k_proj.weight"):
            lora_b = permute_rows(lora_b, shape.head_count_kv)
        name = gguf_base_name(hf_name, shape.block_count)
        tensors.append((f"{name}.lora_a", lora_a.contiguous().numpy()))
        tensors.append((f"{name}.lora_b", lora_b.contiguous().numpy()))
    return tensors


def write_lora_gguf(
    path: Path, tensors: list[tuple[str, np.ndarray]], alpha: float, architecture: str = "llama"
) -> None:
    """Write the adapter file llama.cpp loads with `lora_path=` (f32 tensors)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    writer = gguf.GGUFWriter(str(partial), architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    for name, array in tensors:
        writer.add_tensor(name, array.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(path)
