"""`python -m tests.benchmarks.context_recall`: the share of each gold answer's figures and codes
that `/rag` answers contain, with whole passages and with context selection, on the real models.

A stand-in for the eval's `must_mention` fact recall: a fact here is any token of the gold answer
holding a digit ("5", "PG2", "4,000"), looked for verbatim in the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
from typing import Any

import httpx

from app.backends.compose import build_backends
from app.main import create_app
from app.settings import PROJECT_ROOT, ContextSettings, LocalModelSettings, Settings

FACT = re.compile(r"[A-Za-z]*\d[\w.,/-]*")
CONFIGS: dict[str, dict[str, Any]] = {
    "whole": {"selection": False},
    "selected": {},
}


def facts(text: str) -> set[str]:
    return {found.rstrip(".,").lower() for found in FACT.findall(text)}


async def recall(config: dict[str, Any], items: list[dict[str, str]]) -> dict[str, float]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        context=ContextSettings(**config),
        local=LocalModelSettings(require_adapter=False),
    )
    backends = build_backends(settings)
    transport = httpx.ASGITransport(app=create_app(settings, backends=backends))
    recalls, tokens, generate_ms = [], [], []
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=600) as c:
            for item in items:
                body = {"question": item["question"], "max_tokens": 64}
                answer = (await c.post("/rag", json=body)).json()
                gold = facts(item["answer"])
                if gold:
                    found = {fact for fact in gold if fact in answer["answer"].lower()}
                    recalls.append(len(found) / len(gold))
                tokens.append(answer["usage"]["input_tokens"])
                generate_ms.append(answer["timings_ms"]["generate"])
    finally:
        await backends.aclose()
    return {
        "fact_recall": round(statistics.mean(recalls), 3),
        "questions": len(recalls),
        "prompt_tokens_p50": statistics.median(tokens),
        "generate_ms_p50": round(statistics.median(generate_ms)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=56, help="first N test questions")
    parser.add_argument("--configs", default="whole,selected", help=", ".join(CONFIGS))
    arguments = parser.parse_args()
    testset = PROJECT_ROOT / "data" / "test" / "test.json"
    items = json.loads(testset.read_text(encoding="utf-8"))[: arguments.limit]
    for name in arguments.configs.split(","):
        print(name, json.dumps(asyncio.run(recall(CONFIGS[name], items))), flush=True)


if __name__ == "__main__":
    main()
