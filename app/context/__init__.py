"""Between retrieval and generation: sentence-level context selection and the context budget.

`ContextPolicy.prepare` turns a question and the retrieved passages into the chat messages a
generator gets: the sentences most relevant to the question (`selection`), within the
generator's context length (`window`, `fitting`), and a `ContextReport` saying what was left out.
"""

from app.context.fitting import ContextReport, PreparedPrompt
from app.context.policy import (
    ContextPolicy,
    build_context_policy,
    build_span_ranker,
    prepare_prompt,
)
from app.core.tokens import ContextWindow

__all__ = [
    "ContextPolicy",
    "ContextReport",
    "ContextWindow",
    "PreparedPrompt",
    "build_context_policy",
    "build_span_ranker",
    "prepare_prompt",
]
