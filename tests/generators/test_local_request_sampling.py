"""A request's `stop` and `top_p` (the OpenAI API's) reach llama.cpp beside the template's stops."""

from __future__ import annotations

from app.core.types import ChatMessage
from app.generators.base import GenerationParams
from tests.generators.test_local_endings import LoopingLlama, _generator


class RecordingLlama(LoopingLlama):
    def __init__(self) -> None:
        super().__init__()
        self.top_p: object = None

    def create_chat_completion(self, **kwargs: object):  # type: ignore[no-untyped-def]
        self.top_p = kwargs.get("top_p")
        return super().create_chat_completion(**kwargs)


async def test_the_request_s_stops_follow_the_template_s_and_top_p_is_passed() -> None:
    llama = RecordingLlama()
    generator = _generator(llama)
    params = GenerationParams(16, 0.0, top_p=0.9, stop=("\n\n",))

    await generator.generate([ChatMessage("user", "Oil?")], params)

    assert llama.stop == ["<|im_end|>", "Question:", "\n\n"]
    assert llama.top_p == 0.9
    await generator.aclose()
