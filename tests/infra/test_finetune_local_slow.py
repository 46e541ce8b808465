"""Local fine-tuning with the real SmolLM2: the adapter as llama.cpp applies it, and end to end."""

from __future__ import annotations

from pathlib import Path

import gguf
import pytest
import torch

from app.catalog import catalog_hash
from app.generators.lora_adapters import TRAINING_RECIPE, adapter_dir_for, manifest_path_for
from app.settings import Settings
from infra.finetune.catalog_qa import catalog_facts, paraphrases
from infra.finetune.gguf_export import lora_tensors, write_lora_gguf
from infra.finetune.manifest import FinetuneManifest
from infra.finetune.model import attach_lora
from infra.finetune.settings import LocalFinetuneSettings
from tests.infra.test_finetune_local import CATALOG

pytestmark = pytest.mark.slow


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.txt"
    path.write_text(CATALOG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base model's float32 conversion: made by the first test, read by the next."""
    return tmp_path_factory.mktemp("models")


PROMPT = "The Kestrel KX-420 hydraulic press delivers a rated force of"


def float32_copy(source: Path, target: Path) -> Path:
    """The base GGUF dequantized by llama.cpp: Q4_1 rounding noise would hide how exactly the
    adapter applies."""
    import ctypes

    from llama_cpp import llama_model_quantize, llama_model_quantize_default_params

    params = llama_model_quantize_default_params()
    params.ftype = gguf.LlamaFileType.ALL_F32
    params.allow_requantize = True
    status = llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params))
    assert status == 0 and target.is_file(), f"llama.cpp could not write {target} ({status})"
    return target


def llama_cpp_last_logits(base: Path, tokens: list[int], lora: Path | None = None) -> torch.Tensor:
    from llama_cpp import Llama

    llm = Llama(
        model_path=str(base),
        lora_path=str(lora) if lora else None,
        n_ctx=256,
        n_threads=2,
        logits_all=True,
        verbose=False,
    )
    llm.eval(tokens)
    return torch.tensor(llm.scores[len(tokens) - 1]).float()


def cosine(left: torch.Tensor, right: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(left, right, dim=0))


@pytest.mark.slow
def test_llama_cpp_applies_the_exported_adapter_as_peft_does(
    tmp_path: Path, models_dir: Path
) -> None:
    from app.core.bundled_models import smollm2_gguf_path
    from infra.finetune.model import llama_shape, load_base_model, lora_state

    model, tokenizer = load_base_model(smollm2_gguf_path(), cache_dir=models_dir)
    shape = llama_shape(model)
    tune = LocalFinetuneSettings(rank=8, alpha=16, dropout=0.0, lora_layers=None)
    peft_model = attach_lora(model, tune)
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    tokens = [int(t) for t in tokenizer(PROMPT)["input_ids"]]
    with torch.inference_mode():
        tuned = peft_model(input_ids=torch.tensor([tokens])).logits[0, -1].float()
        with peft_model.disable_adapter():
            base = peft_model(input_ids=torch.tensor([tokens])).logits[0, -1].float()
    right, wrong = tmp_path / "right.gguf", tmp_path / "unpermuted.gguf"
    write_lora_gguf(right, lora_tensors(lora_state(peft_model), shape), 16)
    # The control: q and k alone (the rows llama.cpp permutes), exported without the permutation;
    # beside every other module's update (down_proj's above all) theirs would be hard to see.
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name and "q_proj" not in name and "k_proj" not in name:
                parameter.zero_()
    with torch.inference_mode():
        tuned_qk = peft_model(input_ids=torch.tensor([tokens])).logits[0, -1].float()
    write_lora_gguf(wrong, lora_tensors(lora_state(peft_model), shape, permute_qk=False), 16)
    base_f32 = float32_copy(smollm2_gguf_path(), tmp_path / "base-f32.gguf")

    cpp_base = llama_cpp_last_logits(base_f32, tokens)
    cpp_tuned = llama_cpp_last_logits(base_f32, tokens, right)
    cpp_unpermuted = llama_cpp_last_logits(base_f32, tokens, wrong)

    assert float((tuned - base).abs().max()) > 1.0  # the adapter really moves the logits
    assert float((cpp_tuned - tuned).abs().max()) < 0.05
    assert cosine(cpp_tuned - cpp_base, tuned - base) > 0.999
    assert float((tuned_qk - base).abs().max()) > 0.3  # q and k alone move them too
    assert cosine(cpp_unpermuted - cpp_base, tuned_qk - base) < 0.5


@pytest.mark.slow
def test_local_fine_tune_changes_llama_cpp_answers_to_trained_facts(
    catalog: Path, tmp_path: Path, models_dir: Path
) -> None:
    from llama_cpp import Llama

    from app.core.bundled_models import smollm2_gguf_path
    from infra.finetune.local import run_local

    settings = Settings(_env_file=None, catalog=catalog)  # type: ignore[call-arg]
    settings.local.adapters_dir = tmp_path / "adapters"
    settings.local.models_dir = models_dir
    # The six closed-book questions of the catalog in one batch, a step per epoch: 8 steps
    # memorize them (train perplexity about 1.05 from 38). Excerpt examples (reading_share)
    # would triple the tokens of each step and teach nothing this test asks.
    tune = LocalFinetuneSettings(
        paraphrases=1,
        reading_share=0.0,
        epochs=8,
        batch_size=6,
        learning_rate=5e-3,
        warmup_steps=1,
        rank=8,
        alpha=16,
        holdout_fraction=0.0,
        checkpoint_every_steps=5,
        work_dir=tmp_path / "work",
        probe_facts=0,  # every epoch, no early stopping: this test is about memorizing
        max_train_s=None,
    )
    outcome = run_local(settings, tune)

    manifest = FinetuneManifest.read(manifest_path_for(settings))
    assert manifest == outcome.manifest
    assert manifest.catalog_sha256 == catalog_hash(catalog)
    assert manifest.training_recipe == TRAINING_RECIPE
    assert manifest_path_for(settings).parent == adapter_dir_for(settings)
    metrics = manifest.metrics
    assert metrics.train_perplexity_after < metrics.train_perplexity_before / 2  # type: ignore[operator]
    assert not (tmp_path / "work" / manifest.catalog_sha256[:16]).exists()

    # The question the catalog's safety sentence was turned into for training.
    question = next(
        paraphrases(fact, tune.seed)[0] for fact in catalog_facts(catalog) if "PG2" in fact.text
    )
    messages = [
        {"role": "system", "content": settings.prompts.finetuned.system},
        {"role": "user", "content": settings.prompts.finetuned.user.format(question=question)},
    ]
    answers = {}
    for label, lora in (("base", None), ("tuned", str(outcome.adapter_path))):
        llm = Llama(
            model_path=str(smollm2_gguf_path()),
            lora_path=lora,
            n_ctx=512,
            n_threads=2,
            verbose=False,
        )
        reply = llm.create_chat_completion(messages=messages, max_tokens=40, temperature=0.0)
        answers[label] = reply["choices"][0]["message"]["content"]
    assert "PG2" not in answers["base"], answers
    assert "PG2" in answers["tuned"] or "5 minutes" in answers["tuned"], answers
