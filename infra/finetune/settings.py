"""Settings of both fine-tuning pipelines: environment variables `FMT_FINETUNE__*`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.settings import PROJECT_ROOT

Method = Literal["domain", "instruct"]
TextFormat = Literal["qa", "chat", "plain"]
Precision = Literal["auto", "float32", "bfloat16"]


class LocalFinetuneSettings(BaseModel):
    """LoRA on the embedded SmolLM2 model, on the CPU (`FMT_FINETUNE__LOCAL__*`)."""

    method: Method = Field(
        "domain", description="domain: catalog text; instruct: question/answer pairs of qa_file."
    )
    text_format: TextFormat = Field(
        "qa",
        description="How method=domain presents the catalog. qa: each sentence answers a question "
        "built from it, through the served prompt; chat: each chunk answers `topic_question`; "
        "plain: raw catalog text.",
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
        0.1, ge=0.0, lt=1.0, description="Share of sequences kept out of training, for perplexity."
    )
    rank: int = Field(16, ge=1, le=256, description="LoRA rank r.")
    alpha: int = Field(32, ge=1, description="LoRA alpha; the update is scaled by alpha / r.")
    dropout: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="LoRA dropout. Off by default: two epochs do not overfit, and on a CPU it "
        "costs about a fifth of each step (a copy of every adapted layer's input).",
    )
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj"],
        description="Linear layers that get a LoRA (llama names).",
    )
    lora_layers: int | None = Field(
        16,
        ge=1,
        description="Only the last N transformer blocks get a LoRA, so the backward pass stops "
        "below them (about a third less compute for half the blocks); None: every block.",
    )
    epochs: int = Field(2, ge=1, le=100)
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


class SageMakerFinetuneSettings(BaseModel):
    """JumpStart fine-tuning on SageMaker and the endpoint (`FMT_FINETUNE__SAGEMAKER__*`)."""

    region: str | None = Field(None, description="Default: AWS_REGION / the profile's region.")
    role_arn: str | None = Field(None, description="SageMaker execution role (required).")
    bucket: str | None = Field(None, description="S3 bucket for data and model output (required).")
    prefix: str = Field("fm-tailor/finetune", description="Key prefix inside the bucket.")
    model_id: str = "meta-textgeneration-llama-3-1-8b-instruct"
    accept_eula: bool = Field(
        False, description="Meta's Llama licence must be accepted for the job to start."
    )
    training_image_uri: str = Field(
        "763104351884.dkr.ecr.{region}.amazonaws.com/huggingface-pytorch-training:"
        "2.0.0-transformers4.28.1-gpu-py310-cu118-ubuntu20.04",
        description="JumpStart training image; {region} is filled in.",
    )
    training_script_uri: str = Field(
        "s3://jumpstart-cache-prod-{region}/source-directory-tarballs/meta/transfer_learning/"
        "textgeneration/prepack/v1.0.1/sourcedir.tar.gz",
        description="JumpStart fine-tuning scripts (transfer_learning.py).",
    )
    base_model_uri: str = Field(
        "s3://jumpstart-private-cache-prod-{region}/meta-training/train-{model_id}.tar.gz",
        description="The gated pre-trained weights the training script starts from.",
    )
    inference_image_uri: str = Field(
        "763104351884.dkr.ecr.{region}.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124",
        description="Serving image for the fine-tuned model (LMI / vLLM).",
    )
    inference_environment: dict[str, str] = Field(
        default_factory=lambda: {
            "HF_MODEL_ID": "/opt/ml/model",
            "OPTION_ROLLING_BATCH": "vllm",
            "OPTION_TENSOR_PARALLEL_DEGREE": "max",
            "OPTION_MAX_MODEL_LEN": "8192",
        },
        description="Container environment of the endpoint's model.",
    )
    training_instance_type: str = "ml.g5.12xlarge"
    endpoint_instance_type: str = "ml.g5.12xlarge"
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
    poll_interval_s: float = Field(30.0, gt=0)
    manifests_dir: Path = Field(
        PROJECT_ROOT / "var" / "sagemaker", description="Job and endpoint records (cost model)."
    )


class FinetuneSettings(BaseSettings):
    """Both pipelines' settings; the catalog and adapter folder come from the service's."""

    model_config = SettingsConfigDict(
        env_prefix="FMT_FINETUNE__",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    local: LocalFinetuneSettings = LocalFinetuneSettings()
    sagemaker: SageMakerFinetuneSettings = SageMakerFinetuneSettings()
