"""The part of a message that asks, beside the story a caller tells first."""

from __future__ import annotations

from helpline.conversation.commands import AskKnowledge, StartProcedure
from helpline.understanding.asked_parts import asked_parts, with_asked_parts


def test_the_question_after_a_story_is_the_part_that_asks() -> None:
    assert asked_parts("So I bought the espresso machine for my husband and he doesn't drink espresso, so can I "
                       "send it back? It's not been opened.") == ("so can I send it back?",)
    # spoken words without punctuation: a question word opening a clause after the story
    assert asked_parts("so um i'm trying to decide what beans to get is the house blend good for espresso") == (
        "is the house blend good for espresso",)


def test_a_bare_question_or_a_story_alone_has_no_part() -> None:
    assert asked_parts("do you have a student discount or any codes going at the moment") == ()
    assert asked_parts("my grinder has jammed solid and it's making a racket") == ()
    assert asked_parts("Where is my order? When will it come?") == ()  # all of it asks


def test_only_questions_for_the_articles_in_english_get_parts() -> None:
    text = "I moved house last week, how do I change my address?"
    commands = [AskKnowledge(text), StartProcedure("change_default_address")]
    parts = with_asked_parts(commands, "en")
    assert parts[0] == AskKnowledge(text, asked=("how do I change my address?",)) and parts[1] == commands[1]
    assert with_asked_parts(commands, "es") == commands
