"""The llama.cpp LoRA GGUF export: tensor names, the q/k permutation, shapes and metadata."""

from __future__ import annotations

from pathlib import Path

import gguf
import pytest
import torch

from infra.finetune.gguf_export import (
    LlamaShape,
    gguf_base_name,
    hf_base_name,
    lora_tensors,
    permute_rows,
    write_lora_gguf,
)


@pytest.mark.parametrize(
    ("hf_name", "gguf_name"),
    [
        ("model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight"),
        ("model.layers.7.self_attn.k_proj.weight", "blk.7.attn_k.weight"),
        ("model.layers.29.self_attn.v_proj.weight", "blk.29.attn_v.weight"),
        ("model.layers.1.self_attn.o_proj.weight", "blk.1.attn_output.weight"),
        ("model.layers.2.mlp.gate_proj.weight", "blk.2.ffn_gate.weight"),
        ("model.layers.3.mlp.up_proj.weight", "blk.3.ffn_up.weight"),
        ("model.layers.4.mlp.down_proj.weight", "blk.4.ffn_down.weight"),
    ],
)
def test_hugging_face_names_map_to_llama_cpp_names(hf_name: str, gguf_name: str) -> None:
    assert gguf_base_name(hf_name, block_count=30) == gguf_name


def test_peft_names_lose_wrapper_and_lora_suffix() -> None:
    name = "base_model.model.model.layers.3.self_attn.q_proj.lora_B.weight"
    assert hf_base_name(name) == "model.layers.3.self_attn.q_proj.weight"


def llama_permute(weight: torch.Tensor, head_count: int) -> torch.Tensor:
    # What llama.cpp's converter does to a full q/k weight, written out head by head.
    head_dim = weight.shape[0] // head_count
    rows = []
    for head in range(head_count):
        block = weight[head * head_dim : (head + 1) * head_dim]
        half = head_dim // 2
        for index in range(half):
            rows.extend([block[index], block[half + index]])
    return torch.stack(rows)


def test_permuting_lora_b_equals_permuting_the_merged_update() -> None:
    generator = torch.Generator().manual_seed(2)
    lora_a = torch.randn(4, 24, generator=generator)
    lora_b = torch.randn(48, 4, generator=generator)
    assert torch.allclose(permute_rows(lora_b, 3) @ lora_a, llama_permute(lora_b @ lora_a, 3))


def test_lora_tensors_have_llama_cpp_shapes_and_only_q_k_are_permuted() -> None:
    shape = LlamaShape(block_count=2, head_count=3, head_count_kv=1)
    prefix = "base_model.model.model.layers.1.self_attn"
    generator = torch.Generator().manual_seed(3)
    state = {
        f"{prefix}.{module}.lora_{part}.weight": torch.randn(size, generator=generator)
        for module, out in (("q_proj", 48), ("k_proj", 16), ("v_proj", 16))
        for part, size in (("A", (4, 48)), ("B", (out, 4)))
    }
    tensors = dict(lora_tensors(state, shape))
    assert tensors["blk.1.attn_q.weight.lora_a"].shape == (4, 48)
    assert tensors["blk.1.attn_q.weight.lora_b"].shape == (48, 4)
    q_b = state[f"{prefix}.q_proj.lora_B.weight"]
    k_b = state[f"{prefix}.k_proj.lora_B.weight"]
    assert (tensors["blk.1.attn_q.weight.lora_b"] == permute_rows(q_b, 3).numpy()).all()
    assert (tensors["blk.1.attn_k.weight.lora_b"] == permute_rows(k_b, 1).numpy()).all()
    v_b = state[f"{prefix}.v_proj.lora_B.weight"].numpy()
    assert (tensors["blk.1.attn_v.weight.lora_b"] == v_b).all()


def test_adapter_gguf_declares_a_lora_adapter(tmp_path: Path) -> None:
    path = tmp_path / "adapter.gguf"
    lora_a = torch.ones(4, 8).numpy()
    lora_b = torch.zeros(16, 4).numpy()
    write_lora_gguf(
        path, [("blk.0.attn_v.weight.lora_a", lora_a), ("blk.0.attn_v.weight.lora_b", lora_b)], 32.0
    )
    reader = gguf.GGUFReader(str(path))

    def text(key: str) -> str:
        field = reader.fields[key]
        return bytes(field.parts[field.data[0]]).decode()

    assert text("general.architecture") == "llama"
    assert text("general.type") == "adapter"
    assert text("adapter.type") == "lora"
    assert float(reader.fields["adapter.lora.alpha"].parts[-1][0]) == 32.0
    shapes = {tensor.name: tuple(int(n) for n in tensor.shape) for tensor in reader.tensors}
    # GGUF lists dimensions innermost first: A (4 x 8) is stored as ne = (8, 4).
    assert shapes == {"blk.0.attn_v.weight.lora_a": (8, 4), "blk.0.attn_v.weight.lora_b": (4, 16)}
