"""What the console shows of the engine's internals, in words a shop owner understands.

The engine keeps its bookkeeping terse and technical (steps taken such as `Policy check failed: (order.delivered_at
| days_since) <= 30`, `service_status failed: ... (UnsupportedProtocol)`, statuses such as `awaiting_callback`,
flags such as `third_party_refused`) because the ticket, the QA checks and the audit read them. The console says each
in a sentence instead, and keeps the original as the technical detail (shown to admins, collapsed).

Three kinds of thing are worded here: statuses and flags (`status`, `flag`), the ticket's steps taken
(`ConsoleWording.step`), and the turn's events of `conversation/events.py` (`event`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from helpline.console.policy_words import rule_words
from helpline.conversation import events as ev
from helpline.conversation.policy import EnginePolicy
from helpline.pack.models import Procedure

DEFAULT_POLICY = EnginePolicy()


@dataclass(frozen=True)
class Plain:
    text: str  # the sentence staff read
    detail: str = ""  # the engine's own words, when they differ (admins may unfold them)


# --- statuses and flags ----------------------------------------------------------------------------------------

STATUSES: dict[str, str] = {
    # tickets
    "open": "Open",
    "resolved": "Resolved",
    "escalated": "Passed to a person",
    "awaiting_callback": "Waiting for a callback",
    # conversations
    "active": "In progress",
    "ended": "Ended",
    # callbacks
    "scheduled": "Scheduled",
    "done": "Called back",
    "missed": "Missed",
    "cancelled": "Cancelled",
    # the outbound queue
    "queued": "Waiting to be sent",
    "sending": "Sending now",
    "sent": "Sent",
    "failed": "Could not be sent",
    "blocked": "Not sent: the customer opted out",
    # team questions
    "answered": "Answered",
    "unanswered": "Nobody answered in time",
    "withdrawn": "Withdrawn",
    # procedure outcomes
    "unresolved": "Not resolved",
    "handed_over": "Passed to another request",
}


def status(value: str | None) -> str:
    """A status as staff read it; an unknown one with its underscores as spaces, never as a code."""
    if not value:
        return ""
    return STATUSES.get(value, value.replace("_", " ").capitalize())


def mood_words(frustration: float, policy: EnginePolicy = DEFAULT_POLICY) -> str:
    """The engine's frustration score (0 calm .. 1 furious; stored as a conversation's and ticket's `sentiment`)
    as staff read it, at the engine's own thresholds, the score kept beside the word."""
    word = ("angry" if frustration >= policy.angry else "upset" if frustration >= policy.frustrated else
            "a little tense" if frustration >= policy.frustrated / 2 else "calm")
    return f"{word} (frustration {frustration:.2f})"


_FLAGS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"^name_mismatch: said '(?P<said>.*)', record '(?P<record>.*)'$"),
     lambda m: f"Name differs from the record: the customer said “{m['said']}”, the record says “{m['record']}”"),
    (re.compile(r"^served_authorised_user: (?P<name>.*)$"),
     lambda m: f"Served {m['name']}, an authorised user of the account (not its holder)"),
    (re.compile(r"^third_party_refused$"),
     lambda m: "Someone not on the account asked about it: nothing was disclosed"),
    (re.compile(r"^engine_error$"),
     lambda m: "Something went wrong inside Helpline during this contact; the customer got an apology"),
)


def flag(value: str) -> str:
    for pattern, words in _FLAGS:
        found = pattern.match(value)
        if found:
            return words(found)
    return value.replace("_", " ").capitalize()


# --- operations (the business's systems) -----------------------------------------------------------------------

_LOOKUP_VERBS = ("get", "list", "find", "lookup", "search", "check", "fetch", "read")
_UNREACHABLE = re.compile(r"connect|unsupportedprotocol|timeout|timed out|unreachable|refused|name or service|"
                          r"dns|network|ssl|circuit|unavailable|5\d\d", re.I)
_NOT_FOUND = re.compile(r"not found|no such|404|unknown|does not exist|no rows", re.I)
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def system_of(operation: str) -> str:
    """'get_order' -> 'order', 'service_status' -> 'service-status': what the operation talks to."""
    words = operation.lower().split("_")
    if len(words) > 1 and words[0] in _LOOKUP_VERBS:
        words = words[1:]
    if words and words[0] == "customer" and len(words) > 1:
        words = words[1:]
    return "-".join(words) or operation


def action_of(operation: str) -> str:
    """'cancel_order' -> 'cancel order', 'get_order' -> 'look up the order'."""
    words = operation.lower().split("_")
    if len(words) > 1 and words[0] in _LOOKUP_VERBS:
        return "look up the " + " ".join(words[1:])
    return " ".join(words)


def operation_failure(operation: str, error: str) -> str:
    system = system_of(operation)
    if _UNREACHABLE.search(error):
        return f"Couldn't reach the {system} system"
    if _NOT_FOUND.search(error):
        return f"The {system} system found nothing matching"
    return f"The {system} system reported a problem when asked to {action_of(operation)}"


# --- the ticket's steps taken ----------------------------------------------------------------------------------

StepRule = Callable[[re.Match[str], "_Step"], str]
_STARTED = re.compile(r"^Started '(?P<title>.+)'$|^'.+' handed over to '(?P<title2>.+)'$")


class ConsoleWording:
    """Words for one pack (its procedures name the policies a failed check belongs to) in its time zone."""

    def __init__(self, procedures: Mapping[str, Procedure], zone: ZoneInfo | None = None) -> None:
        self.zone = zone or ZoneInfo("UTC")
        self._checked_in: dict[str, list[str]] = {}
        for procedure in procedures.values():
            for step in procedure.steps:
                if step.check:
                    titles = self._checked_in.setdefault(step.check, [])
                    if procedure.title not in titles:
                        titles.append(procedure.title)

    def steps(self, texts: list[str]) -> list[Plain]:
        """A ticket's steps in order: a failed check is named after the request running when it failed (the same
        check may be in several procedures: the return and the exchange both check the 30 days)."""
        running: list[str] = []
        worded = []
        for text in texts:
            started = _STARTED.match(text)
            if started:
                running.append(started["title"] or started["title2"])
            worded.append(self.step(text, running[-1] if running else ""))
        return worded

    def step(self, text: str, running: str = "") -> Plain:
        """A step taken, as a sentence; a step no rule knows (a pack's own resolution text) as it is."""
        for pattern, rule in STEP_RULES:
            found = pattern.match(text)
            if found:
                plain = rule(found, _Step(self, running))
                return Plain(plain, text if plain != text else "")
        return Plain(text)

    def policy(self, expression: str, running: str = "") -> str:
        words = rule_words(expression)
        where = self._checked_in.get(expression.strip(), [])
        title = running if running in where else where[0] if where else ""
        if not words.worded:
            return f"Refused: a condition of “{title}” was not met" if title else f"Refused: {words.broken}"
        rule = f"policy of “{title}”: {words.rule}" if title else f"rule: {words.rule}"
        return f"Refused: {words.broken} ({rule})"

    def args(self, described: str) -> str:
        """'order_id=BB-1, new_day=2026-11-30T15:00:00+00:00' -> 'order id BB-1, new day Mon 30 Nov, 09:00'."""
        parts = []
        for part in described.split(", "):
            key, eq, value = part.partition("=")
            if not eq:
                parts.append(part)
                continue
            parts.append(f"{key.replace('_', ' ')} {self.moment(value)}")
        return ", ".join(parts)

    def moment(self, value: str) -> str:
        if not _ISO_MOMENT.match(value.strip()):
            return value
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return value
        from helpline.console.web import local_time  # web imports this module: import when used

        return local_time(moment if moment.tzinfo else moment.replace(tzinfo=self.zone), self.zone)


@dataclass(frozen=True)
class _Step:
    """What a step's rule may use: the pack's words and the request running when the step was taken."""

    wording: ConsoleWording
    running: str

    def policy(self, expression: str) -> str:
        return self.wording.policy(expression, self.running)

    def args(self, described: str) -> str:
        return self.wording.args(described)

    def moment(self, value: str) -> str:
        return self.wording.moment(value)


def _steps() -> tuple[tuple[re.Pattern[str], StepRule], ...]:
    rules: list[tuple[str, StepRule]] = [
        (r"Policy check failed: (?P<check>.+)", lambda m, w: w.policy(m["check"])),
        (r"(?P<op>\w+) failed: (?P<error>.*)", lambda m, w: operation_failure(m["op"], m["error"])),
        (r"(?P<op>\w+) failed", lambda m, w: operation_failure(m["op"], "")),
        (r"(?P<op>\w+) done \((?P<args>.*)\)",
         lambda m, w: f"Done: {action_of(m['op'])}" + (f" ({w.args(m['args'])})" if m["args"] else "")),
        (r"Refused (?P<op>\w+): belongs to another customer",
         lambda m, w: f"Refused to {action_of(m['op'])}: it belongs to another customer"),
        (r"Pack error in '(?P<proc>[^']+)' step (?P<n>\d+): .*",
         lambda m, w: f"A mistake in the business's setup stopped step {m['n']} of “{m['proc']}”; "
                      "the customer was passed to a person"),
        (r"Started '(?P<title>.+)'", lambda m, w: f"Started: {m['title']}"),
        (r"'(?P<a>.+)' handed over to '(?P<b>.+)'", lambda m, w: f"“{m['a']}” became “{m['b']}”"),
        (r"'(?P<title>.+)' changed during incident '(?P<incident>.+)'",
         lambda m, w: f"“{m['title']}” was handled differently because of the incident “{m['incident']}”"),
        (r"Told about incident '(?P<incident>.+)'", lambda m, w: f"Told the customer about “{m['incident']}”"),
        (r"Verified identity by (?P<fields>.+)",
         lambda m, w: "Identity checked (" + m["fields"].replace("_", " ").replace(" + ", ", ") + ")"),
        (r"Identity confirmed by one-time code \(assurance (?P<level>\d)\)",
         lambda m, w: "Identity confirmed with a one-time code"),
        (r"Identity verification failed", lambda m, w: "The customer could not prove who they are"),
        (r"Identity verification paused: too many failed attempts",
         lambda m, w: "Identity checks paused: too many wrong answers for this account"),
        (r"Security code sent to (?P<to>.+)", lambda m, w: f"Sent a security code to {m['to']}"),
        (r"Customer did not complete the security code check",
         lambda m, w: "The customer did not enter the security code"),
        (r"Change not made in chat: stronger identity check failed",
         lambda m, w: "Change not made: the customer failed the extra identity check it needs"),
        (r"Change not made in chat: stronger identity check not available",
         lambda m, w: "Change not made: it needs an extra identity check that can't be done in this chat"),
        (r"Caller is an (?P<who>.+) of the account, not its holder",
         lambda m, w: f"Served {m['who']} (not the account holder)"),
        (r"Caller is not the account holder or an authorised user: account not discussed",
         lambda m, w: "The caller was not on the account, so nothing about it was discussed"),
        (r"Callback to the account holder booked by (?P<when>.+)",
         lambda m, w: f"The account holder will be called back by {m['when']}"),
        (r"Callback promised (?P<how>for|by) (?P<when>.+?) \((?P<to>.*)\)",
         lambda m, w: f"Promised a call back {m['how']} {m['when']}" + (f" on {m['to']}" if m["to"] else "")),
        (r"Callback booked (?P<how>for|by) (?P<when>.+?): (?P<why>.*)",
         lambda m, w: f"Call back booked {m['how']} {m['when']} ({m['why']})"),
        (r"Escalated to (?P<tier>[^:]+): (?P<why>.*)",
         lambda m, w: f"Passed to a person ({m['tier']}): {_reason(m['why'])}"),
        (r"Answered from article '(?P<title>.+)'", lambda m, w: f"Answered from the article “{m['title']}”"),
        (r"Could not answer from the records: (?P<q>.*)",
         lambda m, w: f"Couldn't find the answer in the customer's records: “{m['q']}”"),
        (r"Answered from records (?P<ids>.+)", lambda m, w: f"Answered from the customer's records ({m['ids']})"),
        (r"Asked a colleague: (?P<q>.*)", lambda m, w: f"Asked the team: “{m['q']}”"),
        (r"Customer corrected (?P<slot>\w+) to (?P<value>.*)",
         lambda m, w: f"The customer corrected the {m['slot'].replace('_', ' ')} to {w.moment(m['value'])}"),
        (r"Customer added after the hand-off: (?P<note>.*)",
         lambda m, w: f"The customer added after the hand-off: “{m['note']}”"),
        (r"Customer confirmed", lambda m, w: "The customer said yes to the change"),
        (r"Customer declined the change", lambda m, w: "The customer said no to the change"),
        (r"Customer ruled out (?P<values>.+) for (?P<slot>\w+)",
         lambda m, w: f"The customer ruled out {m['values']} for the {m['slot'].replace('_', ' ')}"),
        (r"Joined ticket #(?P<n>\d+) \((?P<channel>\w+)\): the same request",
         lambda m, w: f"Joined with ticket #{m['n']} ({m['channel']}): the same request"),
        (r"Customer also has ticket #(?P<n>\d+) open \((?P<channel>\w+)\)",
         lambda m, w: f"The customer has another open ticket, #{m['n']} ({m['channel']})"),
        (r"Joined ticket #(?P<n>\d+) into this contact \(same issue\)",
         lambda m, w: f"Ticket #{m['n']} was joined into this one (same issue)"),
        # last: any step that merely contains "answered:" must have matched its own rule above
        (r"(?P<who>.+) answered: (?P<a>.*)", lambda m, w: f"{m['who']} from the team answered: “{m['a']}”"),
    ]
    return tuple((re.compile(f"^{pattern}$", re.S), rule) for pattern, rule in rules)


def _reason(reason: str) -> str:
    """The engine's escalation reasons are mostly plain already; the system-error one carries an exception."""
    found = re.match(r"system error during '(?P<title>.+)': (?P<error>.*)$", reason, re.S)
    if found:
        return f"a system problem stopped “{found['title']}”"
    return reason


STEP_RULES = _steps()
_OUTCOME = re.compile(r"\((open|resolved|escalated|unresolved|handed_over)\)")


def issue(text: str) -> str:
    """A hand-off's issue ('customer said: …; Return an item (handed_over)'; or the escalation's reason when the
    customer said nothing) with its outcomes and system errors in words."""
    return _OUTCOME.sub(lambda m: f"({status(m[1]).lower()})", _reason(text))


# --- the turn's events -------------------------------------------------------------------------------------------


def _operation(e: ev.OperationCalled) -> Plain:
    if not e.ok:
        return Plain(operation_failure(e.name, e.error), f"{e.name}({e.args}) failed: {e.error}")
    verb = "Changed: " if e.changes_data else "Looked up: "
    return Plain(verb + action_of(e.name).removeprefix("look up "), f"{e.name}({e.args})")


_SERVED = {"holder": "the account holder", "authorised_user": "an authorised user", "refused": "refused"}

EVENT_WORDING: dict[type, Callable[[Any], Plain]] = {
    ev.OperationCalled: _operation,
    ev.CustomerVerified: lambda e: Plain("Identity checked (" + ", ".join(f.replace("_", " ") for f in e.method)
                                         + ")"),
    ev.CallerIdentified: lambda e: Plain(
        "Someone not on the account asked about it: nothing was disclosed" if e.served == "refused" else
        f"Served {_SERVED.get(e.served, e.served)}" + (f" ({e.name})" if e.name else ""), f"served={e.served}"),
    ev.Escalated: lambda e: Plain(f"Passed to a person ({e.tier}): {_reason(e.reason)}"
                                  + (" — out of hours, so a call back" if e.out_of_hours else ""), e.reason),
    ev.CallbackRequested: lambda e: Plain("A call back was promised", f"due {e.due_at.isoformat()}"),
    ev.ProcedureFinished: lambda e: Plain(f"Request finished: {status(e.outcome).lower()}"
                                          + (f" — {e.resolution}" if e.resolution else ""), e.procedure_id),
    ev.HandoffNote: lambda e: Plain(f"The customer added for the person taking over: “{e.note}”"),
    ev.KnowledgeGap: lambda e: Plain(f"No article answered: “{e.question}”", f"best score {e.best_score:.2f}"),
    ev.TeamQuestionAsked: lambda e: Plain(f"Asked the team: “{e.question}”"),
    ev.TicketsJoined: lambda e: Plain(f"Ticket #{e.other_ticket_number} was joined into this one (same issue)"),
    ev.ConversationEnded: lambda e: Plain(f"The conversation ended ({e.reason})"),
}


def event(value: object) -> Plain:
    words = EVENT_WORDING.get(type(value))
    if words is None:
        return Plain(type(value).__name__, repr(value))
    return words(value)
