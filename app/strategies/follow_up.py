"""What a strategy that retrieves searches for, given the conversation: the follow-up resolved by
the catalog's product lexicon, or rewritten by a capable model first when settings ask for it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.core.types import ChatMessage
from app.generators.base import GenerationParams, Generator
from app.retrievers.follow_up import SearchQuery, resolve_follow_up
from app.retrievers.products import ProductLexicon


@dataclass(frozen=True, slots=True)
class QuestionRewriter:
    """A model that turns a follow-up into a standalone question (FMT_CONVERSATION__REWRITE)."""

    generator: Generator
    system_prompt: str
    max_tokens: int

    async def rewrite(self, question: str, history: Sequence[ChatMessage]) -> str:
        transcript = "\n".join(
            f"{turn.role}: {turn.content}" for turn in history if turn.role != "system"
        )
        prompt = [
            ChatMessage("system", self.system_prompt),
            ChatMessage("user", f"{transcript}\nuser: {question}"),
        ]
        generation = await self.generator.generate(
            prompt, GenerationParams(max_tokens=self.max_tokens, temperature=0.0)
        )
        return generation.text.strip() or question


@dataclass(frozen=True, slots=True)
class FollowUps:
    """How a strategy resolves a conversation's last question before it retrieves."""

    lexicon: ProductLexicon
    rewriter: QuestionRewriter | None = None

    async def search_query(self, question: str, history: Sequence[ChatMessage]) -> SearchQuery:
        if history and self.rewriter is not None:
            question = await self.rewriter.rewrite(question, history)
        return resolve_follow_up(self.lexicon, question, history)


NO_FOLLOW_UPS = FollowUps(ProductLexicon(()))
