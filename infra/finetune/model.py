"""The base model loaded by transformers from its GGUF (dequantized), and the LoRA put on it."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from app.core.bundled_models import derived_path
from infra.finetune.gguf_export import LlamaShape
from infra.finetune.settings import LocalFinetuneSettings, Precision

logger = logging.getLogger(__name__)


def load_base_model(
    gguf_path: Path, device: str = "cpu", cache_dir: Path | None = None
) -> tuple[Any, Any]:
    """Model (float32, eval mode) and tokenizer from a llama GGUF; transformers dequantizes it.

    With `cache_dir`, the dequantized model and its tokenizer are saved there the first time
    (safetensors, named by the GGUF's hash and the transformers version that converted it) and
    read from there after: transformers parses a GGUF's metadata three times over, about 30 s on
    two cores for SmolLM2, where reading the saved float32 weights takes a second or two.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    converted = converted_path(gguf_path, cache_dir) if cache_dir is not None else None
    if converted is not None and converted.is_dir():
        tokenizer = AutoTokenizer.from_pretrained(str(converted))
        model: Any = AutoModelForCausalLM.from_pretrained(str(converted), dtype=torch.float32)
    else:
        folder, name = str(gguf_path.parent), gguf_path.name
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
        # The weights are plain float32 now; these marks would only make peft and saving refuse.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        if converted is not None:
            _save_converted(model, tokenizer, converted)
    model.eval()
    return model.to(device), tokenizer


def converted_path(gguf_path: Path, cache_dir: Path) -> Path:
    """Where the float32 conversion of `gguf_path` is kept: a folder named by its content."""
    import transformers

    return derived_path(gguf_path, cache_dir, f"hf-{transformers.__version__}")


def _save_converted(model: Any, tokenizer: Any, target: Path) -> None:
    """Saved beside its final name and renamed into place, so a reader never sees half of it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():  # not just another process that saved it first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("base model converted for training, kept at %s", target)


def autocast_dtype(precision: Precision, device: str) -> torch.dtype | None:
    """The dtype to autocast training to, or None for plain float32."""
    if precision == "float32":
        return None
    if precision == "bfloat16":
        return torch.bfloat16
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    # Private but stable since torch 2.1; without native bf16 it would be slower, not faster.
    native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
    return torch.bfloat16 if native else None


def llama_shape(model: Any) -> LlamaShape:
    config = model.config
    if config.model_type != "llama":
        raise ValueError(f"only llama models can be exported, not {config.model_type}")
    return LlamaShape(
        block_count=int(config.num_hidden_layers),
        head_count=int(config.num_attention_heads),
        head_count_kv=int(config.num_key_value_heads or config.num_attention_heads),
    )


def attach_lora(model: Any, settings: LocalFinetuneSettings) -> Any:
    """The model wrapped by peft with fresh LoRA layers (seeded) on the target modules."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(settings.seed)
    block_count = int(model.config.num_hidden_layers)
    layers = None
    if settings.lora_layers is not None and settings.lora_layers < block_count:
        layers = list(range(block_count - settings.lora_layers, block_count))
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(settings.target_modules),
        layers_to_transform=layers,
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def lora_state(peft_model: Any) -> dict[str, torch.Tensor]:
    """The adapter's A and B matrices under peft's saved names."""
    from peft import get_peft_model_state_dict

    return dict(get_peft_model_state_dict(peft_model))
