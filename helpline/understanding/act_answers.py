"""The dialogue-act classifier as the interpreter reads it: which conversational answers a message gives.

SGD's acts (AFFIRM, NEGATE, THANK_YOU, GOODBYE, ...) and our support acts (STILL_BROKEN, FIXED,
NOTHING_ELSE, ...) become the same `Answer`s the short-answer patterns give, so the two sources add
up: patterns for the wording we know, the model for everything else people say.
"""

from __future__ import annotations

from typing import Any

from helpline.understanding.acts import DialogueAct, DialogueActClassifier
from helpline.understanding.short_answers import Answer

_ANSWER_OF: dict[DialogueAct, Answer] = {
    DialogueAct.AFFIRM: Answer.AFFIRM,
    DialogueAct.NEGATE: Answer.DENY,
    DialogueAct.THANK_YOU: Answer.THANKS,
    DialogueAct.GOODBYE: Answer.BYE,
    DialogueAct.STILL_BROKEN: Answer.STILL_BROKEN,
    DialogueAct.FIXED: Answer.FIXED,
    DialogueAct.NOTHING_ELSE: Answer.NOTHING_ELSE,
    DialogueAct.BOT_CHALLENGE: Answer.BOT_CHALLENGE,
    DialogueAct.REPEAT: Answer.REPEAT,
    DialogueAct.NOT_UNDERSTOOD: Answer.NOT_UNDERSTOOD,
}


class ActAnswers:
    """Implements the interpreter's ActReader port over the shipped dialogue-act model."""

    def __init__(self, classifier: DialogueActClassifier) -> None:
        self.classifier = classifier

    def answers(self, text: str, embedding: Any = None) -> set[Answer]:
        acts = self.classifier.acts(text, embedding=embedding)
        return {_ANSWER_OF[a] for a in acts if a in _ANSWER_OF}
