"""Asking a teammate without handing off (the seeds' internal-help exercise).

When the knowledge base does not answer a question and the pack allows it (`team.ask_teammates`) while a person
is on duty, the agent posts the question to the team (a `TeamQuestionAsked` event: the console's inbox and the
team chats), tells the customer it is checking, and keeps serving. A colleague's answer is relayed into the
conversation as theirs; if nobody answers within `team.wait_minutes`, the agent says so and offers a callback.
"""

from __future__ import annotations

from helpline.conversation.commands import Affirm, Deny, Interpretation, NothingElse
from helpline.conversation.events import TeamQuestionAsked, TurnResult
from helpline.conversation.other_contacts import OtherContacts
from helpline.conversation.state import ConversationState, RequestRecord
from helpline.conversation.turn import Turn, TurnContext

TEAM_CALLBACK_OFFER = "team_callback"  # "shall someone call you back with the answer?"


class TeamWork(OtherContacts):
    def _ask_team(self, turn: Turn, question: str) -> bool:
        """Ask a colleague instead of saying "I don't know"; False when the pack doesn't, or nobody is on duty."""
        state = turn.state
        if not self.pack.business.team.ask_teammates or state.team_question or state.escalated:
            return False
        if turn.context.channel == "phone":  # a caller can't be left on the line for minutes: offer a person
            return False
        if not self._team_hours(turn, None).is_open(turn.context.now):
            return False
        state.team_question = question[:500]
        turn.events.append(TeamQuestionAsked(state.team_question))
        state.steps_taken.append(f"Asked a colleague: {state.team_question[:120]}")
        state.requests.append(RequestRecord("knowledge", "Question for the team", "question", "low", "open",
                                            "Asked a colleague"))
        self._say(turn, "team_question_asked")
        if state.active is None:
            state.pending_offer = "anything_else"
        return True

    def handle_team_answer(self, state: ConversationState, context: TurnContext, answer: str,
                           colleague: str) -> TurnResult:
        """A colleague answered the question: relay it as theirs, then carry on where the conversation was."""
        turn = Turn(state, context)
        question = state.team_question
        state.team_question = ""
        self._say(turn, "team_answer", answer=answer, colleague=colleague, question=question)
        state.steps_taken.append(f"{colleague} answered: {answer[:120]}")
        for record in reversed(state.requests):
            if record.title == "Question for the team" and record.outcome == "open":
                record.outcome = "resolved"
                record.resolution = f"Answered by {colleague}"
                break
        if state.active is not None and state.active.awaiting:
            self._reprompt(turn, state.active)
        elif state.pending_offer is None:
            state.pending_offer = "anything_else"
        return TurnResult(replies=turn.replies, events=turn.events)

    def handle_team_unanswered(self, state: ConversationState, context: TurnContext) -> TurnResult:
        """Nobody answered within the pack's wait: say so and offer a callback with the answer."""
        turn = Turn(state, context)
        if not state.team_question:
            return TurnResult(replies=[], events=[])
        self._say(turn, "team_no_answer", question=state.team_question)
        if state.active is None or not state.active.awaiting:
            state.pending_offer = TEAM_CALLBACK_OFFER
        else:
            state.team_question = ""  # mid-procedure: the offer would hijack the slot being asked; note it only
            self._reprompt(turn, state.active)
        return TurnResult(replies=turn.replies, events=turn.events)

    def _answer_team_callback_offer(self, turn: Turn, it: Interpretation) -> bool:
        """The customer's answer to "shall someone call you back with the answer?"."""
        state = turn.state
        question = state.team_question
        if it.has(Affirm):
            state.team_question = ""
            if any(self._contact(state)):
                self._book_callback(turn, f"Answer to: {question[:200]}", None, None)
            else:  # no number or email to call back on: a hand-off, which asks for one when nobody is in
                self._escalate(turn, f"Nobody answered their question in time: {question[:200]}")
            return True
        if it.has(Deny, NothingElse):
            state.team_question = ""
            self._say(turn, "declined_offer")
            self._say(turn, "anything_else")
            state.pending_offer = "anything_else"
            return True
        return False
