"""Local fine-tuning: examples, split, sequences, resume, GGUF names and shapes, manifest, CLI."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from app.context.prompts import PromptTemplate
from app.generators import lora_adapters
from app.generators.lora_adapters import adapter_dir_for, adapter_path_for, manifest_path_for
from app.settings import Settings
from infra.finetune.__main__ import main
from infra.finetune.examples import (
    EVAL_TEST_SET,
    TrainingDataError,
    TrainingExample,
    catalog_qa_examples,
    domain_examples,
    instruct_examples,
    split_examples,
)
from infra.finetune.local import remove_superseded_adapters
from infra.finetune.manifest import FinetuneManifest, FinetuneMetrics, summarize_losses
from infra.finetune.model import attach_lora
from infra.finetune.recall import EarlyStopping, EpochRecall
from infra.finetune.sequences import IGNORED_LABEL, collate, tokenize_example
from infra.finetune.settings import LocalFinetuneSettings
from infra.finetune.training import TrainingPlan, batch_indices, train

CATALOG = """=== PRODUCT: Kestrel KX-420 Hydraulic Press ===
--- Description ---
The KX-420 delivers 420 kN from 21 MPa. The stroke is 300 mm and the daylight is 650 mm.
--- Safety Instructions ---
Wait 5 minutes and confirm that gauge PG2 reads 0 bar before opening a fitting.
=== PRODUCT: Brantley BW-350 MIG Welder ===
--- Configuration Manual ---
Hold MENU for 3 seconds. P08 is burnback time, default 0.06 s. P99 set to 1 restores defaults.
"""

TEMPLATE = PromptTemplate(
    system="You answer from the catalog.", user="Question: {question}\nAnswer:"
)


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.txt"
    path.write_text(CATALOG, encoding="utf-8")
    return path


def make_examples(count: int) -> list[TrainingExample]:
    return [
        TrainingExample(key=f"k{index}", prompt=(), target=f"t{index}") for index in range(count)
    ]


def test_domain_examples_ask_the_served_prompt_about_each_section(catalog: Path) -> None:
    examples = domain_examples(
        catalog, TEMPLATE, "Tell me about the {section} of the {product}.", 8
    )
    first = examples[0]
    assert first.prompt[0].content == "You answer from the catalog."
    assert first.prompt[1].content == (
        "Question: Tell me about the Description of the Kestrel KX-420 Hydraulic Press.\nAnswer:"
    )
    # Non-overlapping chunks: joined back, each section's text comes out whole and once.
    description = " ".join(e.target for e in examples if "Description" in e.prompt[1].content)
    assert description == (
        "The KX-420 delivers 420 kN from 21 MPa. The stroke is 300 mm and the daylight is 650 mm."
    )
    assert len({example.key for example in examples}) == len(examples)


def test_a_share_of_facts_is_also_asked_with_an_excerpt_holding_the_answer(
    catalog: Path,
) -> None:
    reading = PromptTemplate(
        system="You read excerpts.", user="Question: {question}\n\nExcerpt:\n{context}\n\nAnswer:"
    )
    plain = catalog_qa_examples(catalog, TEMPLATE, seed=3)
    mixed = catalog_qa_examples(catalog, TEMPLATE, seed=3, reading=reading, reading_share=0.5)
    everything = catalog_qa_examples(catalog, TEMPLATE, seed=3, reading=reading, reading_share=1)

    def reads(example: TrainingExample) -> bool:
        return "Excerpt:" in example.prompt[-1].content

    assert [e for e in mixed if not reads(e)] == plain  # the closed-book pairs stay as they are
    assert 0 < sum(map(reads, mixed)) < len(plain)
    assert sum(map(reads, everything)) == len(plain)  # one reading pair per fact at most
    for example in filter(reads, everything):
        user = example.prompt[-1].content
        excerpt = user.split("Excerpt:\n", 1)[1].split("\n\nAnswer:", 1)[0]
        assert example.target in excerpt
        assert example.prompt[0].content == "You read excerpts."


def test_each_fact_is_asked_several_ways_and_held_out_whole(catalog: Path) -> None:
    examples = catalog_qa_examples(catalog, TEMPLATE, seed=3, paraphrase_count=3)
    by_fact: dict[str, list[TrainingExample]] = {}
    for example in examples:
        by_fact.setdefault(example.group, []).append(example)

    for group in by_fact.values():
        assert len(group) == 3
        assert len({example.prompt[-1].content for example in group}) == 3
        assert len({example.target for example in group}) == 1
    split = split_examples(examples, 0.3, seed=1)
    held = {example.group for example in split.holdout}
    assert held and not held & {example.group for example in split.train}


def test_instruct_examples_read_question_answer_pairs(tmp_path: Path) -> None:
    qa_file = tmp_path / "qa.json"
    qa_file.write_text(json.dumps([{"question": "What force?", "answer": "420 kN."}]))
    [example] = instruct_examples(qa_file, TEMPLATE)
    assert example.prompt[-1].content == "Question: What force?\nAnswer:"
    assert example.target == "420 kN."


def test_instruct_examples_reject_items_without_an_answer(tmp_path: Path) -> None:
    qa_file = tmp_path / "qa.json"
    qa_file.write_text(json.dumps([{"question": "What force?"}]))
    with pytest.raises(TrainingDataError, match="item 0"):
        instruct_examples(qa_file, TEMPLATE)


def test_training_on_the_eval_test_set_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        instruct_examples(EVAL_TEST_SET, TEMPLATE)
    assert "evaluation test set" in caplog.text


def test_split_is_disjoint_seeded_and_independent_of_order() -> None:
    examples = make_examples(40)
    split = split_examples(examples, 0.1, seed=3)
    assert len(split.holdout) == 4
    assert len(split.train) == 36
    assert not {e.key for e in split.train} & {e.key for e in split.holdout}
    reordered = split_examples(list(reversed(examples)), 0.1, seed=3)
    assert {e.key for e in reordered.holdout} == {e.key for e in split.holdout}
    assert {e.key for e in split_examples(examples, 0.1, seed=4).holdout} != {
        e.key for e in split.holdout
    }
    assert split_examples(examples, 0.0, seed=3).holdout == []


class CharacterTokenizer:
    """A stand-in with the two calls the sequence builder makes."""

    eos_token_id = 1

    def __call__(self, text: str) -> dict[str, list[int]]:
        return {"input_ids": [2 + ord(character) % 100 for character in text]}

    def apply_chat_template(
        self, messages: list[dict[str, str]], tokenize: bool, add_generation_prompt: bool
    ) -> list[int]:
        text = "".join(f"<{m['role']}>{m['content']}</>" for m in messages)
        return self(text + ("<assistant>" if add_generation_prompt else ""))["input_ids"]


def test_chat_sequence_carries_loss_only_on_the_answer() -> None:
    example = domain_examples_for_test()
    sequence = tokenize_example(CharacterTokenizer(), example, max_tokens=1000)
    prompt_length = len(
        CharacterTokenizer().apply_chat_template(
            [{"role": m.role, "content": m.content} for m in example.prompt], True, True
        )
    )
    assert set(sequence.labels[:prompt_length]) == {IGNORED_LABEL}
    assert sequence.labels[prompt_length:] == sequence.input_ids[prompt_length:]
    assert sequence.target_tokens == len("420 kN.</>")


def domain_examples_for_test() -> TrainingExample:
    return TrainingExample(key="x", prompt=tuple(TEMPLATE.render("What force?")), target="420 kN.")


def test_plain_sequence_ends_with_end_of_text_and_is_cut_to_length() -> None:
    example = TrainingExample(key="x", prompt=(), target="abc")
    assert tokenize_example(CharacterTokenizer(), example, 100).input_ids[-1] == 1
    assert len(tokenize_example(CharacterTokenizer(), example, 2).input_ids) == 2


def test_collate_pads_right_without_loss_on_padding() -> None:
    sequences = [
        tokenize_example(CharacterTokenizer(), TrainingExample("a", (), "abcd"), 100),
        tokenize_example(CharacterTokenizer(), TrainingExample("b", (), "ab"), 100),
    ]
    batch = collate(sequences, pad_id=0)
    assert batch["input_ids"].shape == (2, 5)
    assert batch["input_ids"][1, 3:].tolist() == [0, 0]
    assert batch["labels"][1, 3:].tolist() == [IGNORED_LABEL, IGNORED_LABEL]


def test_right_padding_needs_no_attention_mask_under_causal_attention() -> None:
    model = tiny_lora_model()
    model.eval()
    batch = collate(tiny_sequences()[:4], pad_id=0)
    mask = (batch["labels"] != IGNORED_LABEL).long()
    with torch.no_grad():
        masked = model(**batch, attention_mask=mask)
        unmasked = model(**batch)
    assert float(masked.loss) == pytest.approx(float(unmasked.loss), rel=1e-5)
    for row in range(4):
        length = int(mask[row].sum())
        assert torch.allclose(masked.logits[row, :length], unmasked.logits[row, :length], atol=1e-5)


def plan(**changes: int) -> TrainingPlan:
    values = {
        "epochs": 2,
        "batch_size": 3,
        "learning_rate": 5e-3,
        "warmup_steps": 1,
        "weight_decay": 0.0,
        "seed": 5,
        "checkpoint_every_steps": 2,
    }
    values.update(changes)
    return TrainingPlan(**values)  # type: ignore[arg-type]


def test_each_epoch_visits_every_sequence_once_in_a_new_order() -> None:
    lengths = [5] * 10
    first = [i for step in range(4) for i in batch_indices(lengths, plan(), step)]
    second = [i for step in range(4, 8) for i in batch_indices(lengths, plan(), step)]
    assert sorted(first) == sorted(second) == list(range(10))
    assert first != second
    assert batch_indices(lengths, plan(), 5) == batch_indices(lengths, plan(), 5)


def padding_of(batches: list[list[int]], lengths: list[int]) -> int:
    return sum(
        max(lengths[i] for i in batch) * len(batch) - sum(lengths[i] for i in batch)
        for batch in batches
    )


def test_batches_group_sequences_of_similar_length() -> None:
    lengths = [(index * 37) % 100 + 1 for index in range(192)]
    batches = [batch_indices(lengths, plan(batch_size=8), step) for step in range(24)]
    in_given_order = [list(range(start, start + 8)) for start in range(0, 192, 8)]

    assert sorted(i for batch in batches for i in batch) == list(range(192))
    assert padding_of(batches, lengths) < padding_of(in_given_order, lengths) / 3


def tiny_llama(blocks: int) -> torch.nn.Module:
    """A randomly initialised llama small enough to train in a test."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=blocks,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )
    return LlamaForCausalLM(config)


def tiny_lora_model() -> torch.nn.Module:
    torch.manual_seed(0)
    settings = LocalFinetuneSettings(rank=4, dropout=0.1, target_modules=["q_proj", "v_proj"])
    return attach_lora(tiny_llama(blocks=2), settings)  # type: ignore[no-any-return]


def tiny_sequences() -> list:  # type: ignore[type-arg]
    generator = torch.Generator().manual_seed(1)
    sequences = []
    for length in (9, 12, 10, 14, 8, 11, 13):
        ids = torch.randint(2, 64, (length,), generator=generator).tolist()
        sequences.append(tokenize_example_ids(ids))
    return sequences


def tokenize_example_ids(ids: list[int]):  # type: ignore[no-untyped-def]
    from infra.finetune.sequences import TokenSequence

    return TokenSequence(input_ids=ids, labels=list(ids))


def lora_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def test_lora_goes_only_on_the_last_blocks_asked_for() -> None:
    model = attach_lora(tiny_llama(blocks=4), LocalFinetuneSettings(rank=4, lora_layers=2))
    blocks = {name.split(".layers.")[1].split(".")[0] for name in lora_weights(model)}
    assert blocks == {"2", "3"}


class Interrupted(KeyboardInterrupt):
    pass


def test_interrupted_run_resumes_to_the_same_end(tmp_path: Path) -> None:
    sequences = tiny_sequences()
    straight = tiny_lora_model()
    reference = train(straight, sequences, 0, plan(), tmp_path / "a" / "ckpt.pt", "run")

    def interrupt(step: int, loss: float) -> None:
        if step == 3:
            raise Interrupted

    resumed_model = tiny_lora_model()
    checkpoint = tmp_path / "b" / "ckpt.pt"
    with pytest.raises(Interrupted):
        train(resumed_model, sequences, 0, plan(), checkpoint, "run", on_step=interrupt)
    assert checkpoint.is_file()
    fresh_process_model = tiny_lora_model()
    resumed = train(fresh_process_model, sequences, 0, plan(), checkpoint, "run")

    assert resumed.resumed_from_step == 2
    assert resumed.losses == pytest.approx(reference.losses, rel=1e-5)
    expected, actual = lora_weights(straight), lora_weights(fresh_process_model)
    for name, value in expected.items():
        torch.testing.assert_close(actual[name], value, rtol=1e-5, atol=1e-6)
    assert any(float(value.abs().sum()) > 0 for name, value in expected.items() if "lora_B" in name)


def test_checkpoint_of_another_run_is_not_resumed(tmp_path: Path) -> None:
    sequences = tiny_sequences()
    checkpoint = tmp_path / "ckpt.pt"

    def interrupt(step: int, loss: float) -> None:
        if step == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        train(tiny_lora_model(), sequences, 0, plan(), checkpoint, "run-1", on_step=interrupt)
    result = train(tiny_lora_model(), sequences, 0, plan(), checkpoint, "run-2")
    assert result.resumed_from_step is None
    assert len(result.losses) == result.total_steps == 6


def test_loss_summary_keeps_the_curve_shape() -> None:
    summary = summarize_losses([4.0, 3.0, 2.0, 1.0, 1.0], steps_per_epoch=2)
    assert (summary.first, summary.last, summary.minimum) == (4.0, 1.0, 1.0)
    assert summary.per_epoch_mean == [3.5, 1.5, 1.0]


def test_adapter_folder_follows_the_catalog(catalog: Path, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, catalog=catalog)  # type: ignore[call-arg]
    settings.local.adapters_dir = tmp_path / "adapters"
    before = adapter_dir_for(settings)
    assert adapter_path_for(settings) == before / "adapter.gguf"
    catalog.write_text(CATALOG + "\nA new sentence.\n", encoding="utf-8")
    assert adapter_dir_for(settings) != before
    assert adapter_dir_for(settings).parent == tmp_path / "adapters"


def test_a_new_training_recipe_keys_a_new_adapter_folder(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(_env_file=None, catalog=catalog)  # type: ignore[call-arg]
    settings.local.adapters_dir = tmp_path / "adapters"
    before = adapter_dir_for(settings)
    monkeypatch.setattr(lora_adapters, "TRAINING_RECIPE", "another recipe")

    assert adapter_dir_for(settings) != before
    assert adapter_dir_for(settings).parent == before.parent


def test_a_new_adapter_removes_the_ones_its_catalog_can_no_longer_use(
    catalog: Path, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, catalog=catalog)  # type: ignore[call-arg]
    settings.local.adapters_dir = tmp_path / "adapters"

    def adapter(name: str, catalog_path: Path | None) -> Path:
        folder = settings.local.adapters_dir / name
        folder.mkdir(parents=True)
        (folder / "adapter.gguf").write_bytes(b"GGUF")
        if catalog_path is not None:
            manifest = {"catalog_path": str(catalog_path)}
            (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        return folder

    current = adapter(adapter_dir_for(settings).name, catalog)
    earlier_recipe = adapter("0123456789abcdef", catalog)
    other_catalog = adapter("fedcba9876543210", tmp_path / "other-kb")
    under_way = adapter("00000000aaaaaaaa", None)

    assert remove_superseded_adapters(settings) == [earlier_recipe]
    assert sorted(settings.local.adapters_dir.iterdir()) == sorted(
        [current, other_catalog, under_way]
    )


def test_if_missing_skips_when_the_catalog_already_has_an_adapter(
    catalog: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FMT_CATALOG", str(catalog))
    monkeypatch.setenv("FMT_LOCAL__ADAPTERS_DIR", str(tmp_path / "adapters"))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    adapter_path_for(settings).parent.mkdir(parents=True)
    adapter_path_for(settings).write_bytes(b"GGUF")
    manifest_path_for(settings).write_text("{}")

    def must_not_train(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained although the adapter exists")

    monkeypatch.setattr("infra.finetune.local.load_base_model", must_not_train)
    assert main(["local", "--if-missing"]) == 0
    assert "already exists" in capsys.readouterr().out


def test_manifest_round_trips(tmp_path: Path) -> None:
    manifest = FinetuneManifest(
        created_at="2026-01-01T00:00:00+00:00",
        base_model_path="/m.gguf",
        base_model_sha256="ab",
        catalog_path="/c",
        catalog_sha256="cd",
        method="domain/chat",
        hyperparameters={"rank": 16},
        train_sequences=10,
        holdout_sequences=1,
        train_target_tokens=900,
        metrics=FinetuneMetrics(
            holdout_perplexity_before=20.0,
            holdout_perplexity_after=9.0,
            train_perplexity_before=21.0,
            train_perplexity_after=3.0,
            loss=summarize_losses([3.0, 2.0], 1),
        ),
    )
    manifest.write(tmp_path / "manifest.json")
    assert FinetuneManifest.read(tmp_path / "manifest.json") == manifest


def test_a_profile_sets_its_values_but_the_environment_still_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from infra.finetune.settings import PROFILES, FinetuneSettings, with_profile

    monkeypatch.setenv("FMT_FINETUNE__LOCAL__EPOCHS", "9")
    local = with_profile(FinetuneSettings(_env_file=None).local, "thorough")  # type: ignore[call-arg]

    assert local.profile == "thorough"
    assert local.paraphrases == PROFILES["thorough"]["paraphrases"]
    assert local.epochs == 9
    quick = with_profile(LocalFinetuneSettings(), "quick")
    assert quick == LocalFinetuneSettings(profile="quick")


class ScriptedRecall(EarlyStopping):
    """Early stopping whose held-out recall after each epoch is given, not measured."""

    def __init__(self, model: torch.nn.Module, found: list[int], patience: int) -> None:
        super().__init__(model, None, TEMPLATE, [], patience)
        self.found = found

    def measure(self, epoch: int) -> EpochRecall:
        return EpochRecall(epoch, self.found[epoch - 1], 10, 0.0)


def test_training_stops_once_recall_stops_improving_and_keeps_the_best_epoch(
    tmp_path: Path,
) -> None:
    model = tiny_lora_model()
    sequences = tiny_sequences()
    stopping = ScriptedRecall(model, found=[2, 5, 4, 3, 9, 9], patience=2)
    weights_after: list[dict[str, torch.Tensor]] = []

    def remember(epoch: int) -> bool:
        stop = stopping(epoch)
        weights_after.append(lora_weights(model))
        return stop

    per_epoch = 2  # 7 sequences in batches of 4
    plan = TrainingPlan(
        epochs=6,
        batch_size=4,
        learning_rate=1e-2,
        warmup_steps=0,
        weight_decay=0.0,
        seed=0,
        checkpoint_every_steps=100,
    )
    result = train(model, sequences, 0, plan, tmp_path / "c.pt", "run", after_epoch=remember)

    assert result.stopped_after_epoch == 4  # epochs 3 and 4 were no better than epoch 2
    assert len(result.losses) == 4 * per_epoch
    assert stopping.restore_best() == 2
    for name, value in lora_weights(model).items():
        assert torch.equal(value, weights_after[1][name])


def test_training_stops_once_every_probe_is_recalled(tmp_path: Path) -> None:
    model = tiny_lora_model()
    stopping = ScriptedRecall(model, found=[4, 10, 10, 10], patience=2)
    four_epochs = plan(epochs=4, batch_size=4, checkpoint_every_steps=100)

    result = train(
        model, tiny_sequences(), 0, four_epochs, tmp_path / "c.pt", "run", after_epoch=stopping
    )

    assert result.stopped_after_epoch == 2  # 10 of 10: no later epoch could be better
    assert stopping.restore_best() == 2


def test_a_time_bound_ends_training_after_the_step_that_passes_it(tmp_path: Path) -> None:
    plan = TrainingPlan(
        epochs=3,
        batch_size=4,
        learning_rate=1e-2,
        warmup_steps=0,
        weight_decay=0.0,
        seed=0,
        checkpoint_every_steps=100,
        max_seconds=1e-9,
    )
    result = train(tiny_lora_model(), tiny_sequences(), 0, plan, tmp_path / "c.pt", "run")

    assert result.out_of_time
    assert len(result.losses) == 1 < result.total_steps
