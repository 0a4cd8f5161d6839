"""The agent apologises for frustration the customer shows, not for plain requests and answers that the learned tone
model alone scores as upset (found with the sandhill-fiber example pack: "I can hear how frustrating this has been"
after "I want to change my plan")."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpline.conversation.engine import Engine
from tests.conversation.valley_fibre import Chat

SANDHILL = Path(__file__).resolve().parents[2] / "examples" / "sandhill-fiber"


def apologised(chat: Chat) -> bool:
    return any("frustrating" in reply.lower() or "sorry for the trouble" in reply.lower() for reply in chat.replies)


@pytest.mark.parametrize("message", ["I want to change my plan", "I'd like to switch to a cheaper package",
                                     "we're moving house next month"])
def test_a_plain_request_gets_no_apology(sandhill: Engine, message: str) -> None:
    chat = Chat(sandhill)
    chat.say(message)
    assert not apologised(chat), chat.replies


@pytest.mark.parametrize("message", ["This is the third time I'm calling about my internet, it's ridiculous",
                                     "I'm so fed up, my internet has been down for three days and nobody cares"])
def test_real_frustration_is_still_acknowledged(sandhill: Engine, message: str) -> None:
    chat = Chat(sandhill)
    chat.say(message)
    assert chat.state.apologised, chat.replies
