"""Settings of both fine-tuning pipelines: environment variables `FMT_FINETUNE__*`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from app.settings import PROJECT_ROOT
from infra.finetune.serving_limits import ModelShape
from infra.settings import InfraBaseSettings

Method = Literal["domain", "instruct"]
TextFormat = Literal["qa", "chat", "plain"]
Precision = Literal["auto", "float32", "bfloat16"]
MetadataSource = Literal["auto", "live", "bundled"]


class LocalFinetuneSettings(BaseModel):
    """LoRA on the embedded SmolLM2 model, on the CPU (`FMT_FINETUNE__LOCAL__*`).

    The defaults are the `quick` profile; `PROFILES` below holds the others.
    """

    profile: str = Field(
        "quick", description="The profile these values came from (recorded in the manifest)."
    )
    method: Method = Field(
        "domain", description="domain: catalog text; instruct: question/answer pairs of qa_file."
    )
    text_format: TextFormat = Field(
        "qa",
        description="How method=domain presents the catalog. qa: each sentence answers a question "
        "built from it, through the served prompt; chat: each chunk answers `topic_question`; "
        "plain: raw catalog text.",
    )
    paraphrases: int = Field(
        2,
        ge=1,
        le=18,
        description="With text_format=qa: questions per fact, each a different template frame "
        "and way of naming the product; the answer is the fact's sentence every time. The next "
        "paraphrase, never trained, is the fact's held-out probe (early stopping, the ledger).",
    )
    reading_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="With text_format=qa: the share of facts also asked once through the "
        "hybrid prompt, with an excerpt of the answer's section holding it, so the tuned model "
        "learns to read excerpts (retrieval-augmented fine-tuning). At 0.25 the closed-book "
        "questions outweighed the excerpts and hybrid fell behind rag (docs/finetune.md).",
    )
    probe_facts: int = Field(
        32,
        ge=0,
        description="Trained facts whose held-out paraphrase is asked (greedy, closed-book) after "
        "every epoch: the fact recall that early stopping follows; 0: no early stopping.",
    )
    fact_limit: int | None = Field(
        None,
        ge=1,
        description="Train on the first N facts of the probes' seeded order only (experiments: "
        "ledger curves on a subset in minutes); None: every fact of the catalog.",
    )
    probe_base: bool = Field(
        False,
        description="Also ask the probes before training (epoch 0: what the base model knows), "
        "for ledger curves; it costs one more round of answers.",
    )
    max_train_s: float | None = Field(
        2400.0,
        gt=0,
        description="Stop training after the step that passes this many seconds (the held-out "
        "recall of the weights reached is measured and kept if best); None: no time bound. "
        "The quick profile's two epochs took 1,248 s of training on an idle 2-core machine "
        "(7 Dec 2026); the bound lets them finish on a busier one, and keeps the training "
        "`make run` starts within 40 minutes.",
    )
    patience: int = Field(
        1,
        ge=1,
        description="Epochs without a better held-out fact recall before training stops; the "
        "adapter written is the best epoch's.",
    )
    topic_question: str = Field(
        "Tell me about the {section} of the {product}.",
        description="The user turn of a chat-formatted chunk; {product} and {section} filled in.",
    )
    qa_file: Path | None = Field(
        None, description="JSON list of {question, answer} objects, for method=instruct."
    )
    chunk_words: int = Field(90, ge=10, le=2000, description="Catalog words per training sequence.")
    max_sequence_tokens: int = Field(256, ge=32, le=2048, description="Longer ones are cut.")
    holdout_fraction: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="Share of facts (all their paraphrases) kept out of training, for perplexity "
        "on unseen text. 0 by default: a fact held out is a fact the adapter cannot know, and "
        "fact recall on held-out paraphrases (probe_facts) is what chooses the epochs.",
    )
    rank: int = Field(32, ge=1, le=256, description="LoRA rank r.")
    alpha: int = Field(64, ge=1, description="LoRA alpha; the update is scaled by alpha / r.")
    dropout: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="LoRA dropout. Off by default: one or two epochs do not overfit, and on a "
        "CPU it costs about a fifth of each step (a copy of every adapted layer's input).",
    )
    target_modules: list[str] = Field(
        default_factory=lambda: [
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ],
        description="Linear layers that get a LoRA (llama names). down_proj, where the MLP "
        "writes back, is what made facts stick (docs/finetune.md, the ledger curves).",
    )
    lora_layers: int | None = Field(
        16,
        ge=1,
        description="Only the last N transformer blocks get a LoRA, so the backward pass stops "
        "below them (about a third less compute for half the blocks); None: every block.",
    )
    epochs: int = Field(
        2,
        ge=1,
        le=100,
        description="Most passes over the examples; early stopping may end sooner.",
    )
    learning_rate: float = Field(2e-3, gt=0)
    warmup_steps: int = Field(4, ge=0)
    weight_decay: float = Field(0.0, ge=0)
    batch_size: int = Field(8, ge=1, le=256)
    seed: int = 13
    checkpoint_every_steps: int = Field(10, ge=1, description="Steps between resumable saves.")
    threads: int | None = Field(None, ge=1, description="torch CPU threads; default: torch's.")
    device: str = Field("cpu", description="torch device; `cuda` trains on a GPU if there is one.")
    precision: Precision = Field(
        "auto",
        description="Matrix products while training (the LoRA weights stay float32). auto: "
        "bfloat16 where the device computes it natively (AVX512-BF16 or AMX CPUs, bf16 GPUs), "
        "about a quarter faster on a CPU; float32 elsewhere.",
    )
    work_dir: Path = Field(
        PROJECT_ROOT / "var" / "finetune-work", description="Checkpoints of unfinished runs."
    )


Profile = Literal["quick", "thorough"]

PROFILES: dict[str, dict[str, object]] = {
    # What `make run` trains in the background: the defaults above.
    "quick": {},
    # `make finetune PROFILE=thorough`: more paraphrases and epochs (docs/finetune.md).
    "thorough": {
        "paraphrases": 3,
        "reading_share": 0.75,  # quick's 4 closed-book questions to 1 excerpt
        "epochs": 6,
        "patience": 2,
        "probe_facts": 64,
        "max_train_s": None,
    },
}
"""Named sets of values over the defaults; variables set in the environment still win."""


def with_profile(local: LocalFinetuneSettings, profile: str) -> LocalFinetuneSettings:
    """`local` with the profile's values, except the fields its environment set explicitly."""
    chosen = {**PROFILES[profile], "profile": profile}
    explicit = local.model_dump(include=local.model_fields_set - {"profile"})
    return LocalFinetuneSettings.model_validate({**local.model_dump(), **chosen, **explicit})


class SageMakerFinetuneSettings(BaseModel):
    """JumpStart fine-tuning on SageMaker and the endpoint (`FMT_FINETUNE__SAGEMAKER__*`).

    The training image, script, base weights, channels and network isolation are not settings:
    the SageMaker SDK reads them from the model's JumpStart metadata (DescribeHubContent).
    """

    region: str | None = Field(None, description="Default: AWS_REGION / the profile's region.")
    role_arn: str | None = Field(None, description="SageMaker execution role (required).")
    bucket: str | None = Field(None, description="S3 bucket for data and model output (required).")
    prefix: str = Field("fm-tailor/finetune", description="Key prefix inside the bucket.")
    model_id: str = Field(
        "meta-textgeneration-llama-3-1-8b-instruct", description="JumpStart model id."
    )
    model_version: str | None = Field(None, description="JumpStart model version; default: newest.")
    hub_name: str = Field("SageMakerPublicHub", description="JumpStart hub holding the model.")
    hub_document: Path | None = Field(
        None,
        description="A HubContentDocument (or a whole DescribeHubContent answer) in a file, read "
        "instead of the hub's: offline dry runs of any published document (`--hub-document`).",
    )
    metadata: MetadataSource = Field(
        "auto",
        description="Where the JumpStart metadata comes from. live: the hub (DescribeHubContent); "
        "bundled: the copy shipped for the default model (offline dry runs and tests); auto: "
        "live when AWS credentials are found, bundled otherwise.",
    )
    accept_eula: bool = Field(
        False, description="Meta's Llama licence must be accepted for the job to start."
    )
    method: Method = Field(
        "domain",
        description="domain: JumpStart domain adaptation on the catalog text "
        "(instruction_tuned=False); instruct: instruction tuning on question/answer pairs "
        "with a template.json.",
    )
    qa_file: Path | None = Field(
        None,
        description="JSON list of {question, answer} for method=instruct; default: pairs built "
        "from the catalog's own sentences.",
    )
    instruct_prompt: str = Field(
        "Answer the customer's question about our product catalog.\n\nQuestion: {question}\n\n"
        "Answer:",
        description="template.json prompt of method=instruct; {question} is filled in.",
    )
    inference_environment: dict[str, str] = Field(
        default_factory=dict,
        description="Container environment added to the one JumpStart's metadata gives.",
    )
    inference_config: str | None = Field(
        None,
        description="JumpStart inference config (`tgi`, `lmi`, ...); default: the top-ranked "
        "one that supports the endpoint's instance type.",
    )
    max_model_len: int | None = Field(
        None,
        ge=256,
        description="Longest sequence the endpoint serves (OPTION_MAX_MODEL_LEN on LMI, "
        "MAX_TOTAL_TOKENS on TGI); default: what the instance's GPU memory holds, unless the "
        "model's metadata sets it.",
    )
    model_shape: ModelShape = ModelShape()
    training_instance_type: str | None = Field(
        None,
        description="Checked against the model's supported training types; default: the "
        "model's metadata's default.",
    )
    endpoint_instance_type: str | None = Field(
        None,
        description="Checked against the model's supported inference types; default: the "
        "chosen inference config's default.",
    )
    endpoint_name: str | None = Field(None, description="Default: derived from the job name.")
    volume_size_gb: int = Field(512, ge=1)
    max_runtime_s: int = Field(360_000, ge=60)
    epochs: int = Field(5, ge=1)
    learning_rate: float = Field(1e-4, gt=0)
    lora_r: int = Field(8, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0)
    per_device_train_batch_size: int = Field(4, ge=1)
    max_input_length: int = Field(1024, ge=-1)
    validation_split_ratio: float = Field(0.2, gt=0, lt=1)
    extra_hyperparameters: dict[str, str] = Field(
        default_factory=dict, description="More JumpStart hyper-parameters, passed as given."
    )
    telemetry_opt_out: bool = Field(
        True, description="Keep the SageMaker SDK from sending usage telemetry."
    )
    poll_interval_s: float = Field(30.0, gt=0)
    manifests_dir: Path = Field(
        PROJECT_ROOT / "var" / "sagemaker", description="Job and endpoint records (cost model)."
    )


class FinetuneSettings(InfraBaseSettings):
    """Both pipelines' settings; the catalog and adapter folder come from the service's."""

    model_config = SettingsConfigDict(env_prefix="FMT_FINETUNE__")

    local: LocalFinetuneSettings = LocalFinetuneSettings()
    sagemaker: SageMakerFinetuneSettings = SageMakerFinetuneSettings()
