"""Reading a new request in a message: which procedure, which slots it already gives, whether it is a
question for the knowledge base or about the customer's own records, and further requests after it.

Part of the embedded command generator (`interpreter.py`); English wording patterns live here, never
in the engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from helpline.conversation.choices import choices_for, match_choices
from helpline.conversation.commands import AskKnowledge, AskRecord, Command, OutOfScope, StartProcedure
from helpline.conversation.ports import Entity, KnowledgeSearch, Understanding
from helpline.knowledge.synonyms import same_word, synonyms
from helpline.pack.models import Procedure
from helpline.pack.records import RecordsDeclaration
from helpline.understanding.addresses import split_postal_address
from helpline.understanding.record_questions import choose_kind, parse_record_question
from helpline.understanding.slot_values import names_a_period

# Slot types a free-floating entity may fill when a procedure starts ("cancel BB-10166").
PREFILL_TYPES_EXCLUDED = ("text", "yes_no", "choice", "person_name", "postcode", "number")
# a request that replaces or adds to what is in progress ("actually ...", "I want to ...")
SWITCH = re.compile(r"\b(actually|instead|also|another thing|wait|forget (it|that)|never ?mind|rather|different"
                     r"|something else|change of plan|i want to|i'?d like to|can you|could you)\b", re.I)


@dataclass(frozen=True)
class InterpreterPolicy:
    """Confidence levels of the embedded models (tuned on the pack's own phrasings, never on reports)."""

    procedure: float = 0.45  # top intent score to start a procedure
    procedure_weak: float = 0.25  # ... when nothing else fits
    procedure_mid_task: float = 0.6  # ... while another question is open
    procedure_with_id: float = 0.3  # ... mid-task, when the message names an id the procedure takes
    builtin: float = 0.5
    unsure: float = 0.35  # below this, a hybrid setup may ask a language model
    switch: float = 0.8  # a clear new request while a question is open: the answer words are incidental
    kb_instead: float = 0.9  # an article this sure of a topic the procedure never mentions wins over it
    kb_asked_of_us: float = 0.5  # ... over the out-of-scope class, for a question put to the business ("do you ...")
    choice_meaning: float = 0.35  # cosine of an answer to one of a choice slot's fixed options
    choice_margin: float = 0.05  # ... ahead of the next option
    choice_ambiguous: float = 0.45  # two options both this close (and within the margin): ask which of the two
    choice_ambiguous_words: int = 8  # ... only for a short answer (a longer one is more likely something else)
    other_language: float = 0.75  # model confidence to take plain-ASCII text as another language
    out_of_scope: float = 0.4  # the built-in out-of-scope class, when no procedure fits
    slot_question: float = 0.85  # a question naming a procedure's slot value starts it only above this
    further_request: float = 0.7  # a second request in the same message (a clause of its own)


_QUESTION = re.compile(r"^\s*(how|what|what's|whats|when|where|why|which|who|do|does|is|are|can|could|will|would"
                       r"|should|any|if)\b", re.I)

_PERSONAL = re.compile(r"\b(my|mine|me|i've|i'd like|i want|i need|please|i ordered|i paid|i bought|i get)\b", re.I)

# Questions about the customer's own records: an attribute or an amount of *their* orders.
_RECORD_QUESTION = re.compile(
    r"\b(tracking( number| no| code| id)?|how much (did|do|will|would|have) (i|we)|what did i (pay|order|buy|get)"
    r"|(get|getting) back|refund (amount|total)|in total|total (was|is|of|for)|which (items?|products?|things?|ones?"
    r"|\w+s) did i|what (items?|products?) (did|are|were|was) (i|in)|made of|my (most recent|latest|last|other|first|"
    r"previous|recent) orders?|how many orders|when did i (order|buy)|(i|we) paid (for|with)"
    r"|what (was|is) the (total|price)"
    r"|the other order)\b",
    re.I,
)

_REQUEST_SPLIT = re.compile(r"\band also\b|\balso,?\b|\bplus\b|\band then\b|(?<=[.!?])\s+", re.I)

_REQUEST_FORM = re.compile(r"^\W*(can|could|would|will) (you|someone|somebody|u)\b|^\W*please\b|\bi (want|need|would"
                           r" like|'d like)\b", re.I)

_HOW_TO = re.compile(r"^\W*(how (do|can|should|would|long|often|much time)|what (happens|should)|is it (ok|safe|normal)"
                     r"|can i (use|put|wash|leave|make|get|pay|order|return|exchange|change)\b(?!.* (my|order)))", re.I)

_TELL_ME = re.compile(r"\b(tell me|remind me|show me|let me know|i (want|need) to know|i'?d like to know)\b", re.I)

# a question about records the customer has: "my order", "did I", "I paid", "the other one", "that order"
_OWN = re.compile(r"\b(my (last|latest|recent|most recent|first|previous|other)?\s*(orders?|purchases?|items?|stuff"
                  r"|parcels?|packages?|deliver(y|ies)|shipments?)"
                  r"|did (i|we)|(i|we) (ordered|bought|paid|got|purchased|received)|i'?ve (ordered|bought|paid)"
                  r"|the other (one|order)|(that|this) order|in (my|the) order|(is|was|will) (it|that|this) "
                  r"(going|being|sent|shipped|delivered|coming|arriving))\b", re.I)

_CONTENT = re.compile(r"[a-z][a-z'-]{3,}")

_FILLER_WORDS = frozenset([
    "about", "after", "again", "also", "anything", "back", "because", "been", "before", "being", "could",
    "does", "doing", "done", "down", "each", "else", "even", "from", "have", "having", "here", "into", "just",
    "know", "like", "make", "many", "more", "most", "much", "need", "only", "other", "over", "please", "really",
    "right", "same", "should", "some", "something", "still", "than", "thank", "thanks", "that", "their", "them",
    "then", "there", "these", "they", "thing", "this", "those", "time", "very", "want", "what", "when", "where",
    "which", "while", "will", "with", "would", "your", "today", "yesterday", "already", "since", "just",
])

# A question for the business's own contact details ("what's your phone number?", "the email for support",
# "what number can I call you on") is about reaching the business, never about the customer's account details.
_BUSINESS_CONTACT = re.compile(
    r"\b(?:your|the (?:support|help ?desk|customer (?:service|care)|company|business|shop|store)(?:'s)?)"
    r" (?:own )?(?:(?:tele)?phone(?: number)?|number|e-?mail(?: address)?|contact (?:details|number|info\w*))\b"
    r"|\b(?:(?:tele)?phone(?: number)?|number|e-?mail(?: address)?) (?:for|of|to (?:reach|contact|call|write to))"
    r" (?:you|support|customer (?:service|care)|the (?:support|help ?desk|team|company|business|shop|store)|your)\b"
    r"|\b(?:(?:tele)?phone(?: number)?|number|e-?mail(?: address)?) (?:(?:i|we) (?:can|could|should)|(?:can|could"
    r"|should) (?:i|we)) (?:call|ring|phone"
    r"|write to|e-?mail|use)\b"
    r"|\b(?:call|ring|phone|e-?mail|write to|reach|contact) (?:you(?: guys)?|(?:your|the) (?:support|team|customer"
    r" (?:service|care)|help ?desk|company|business))\b", re.I)
_CUSTOMERS_OWN = re.compile(r"\b(?:my|mine|i've changed|new (?:phone|number|e-?mail))\b", re.I)

_ASKS_TIME = re.compile(r"\bhow (?:long|often|soon|quick(?:ly)?|fast|many (?:times|minutes|hours|days|weeks|months"
                        r"|years))\b", re.I)

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")

# a question put to the business itself ("do you", "are you open", "your hours"), not about someone else
_ASKS_US = re.compile(r"\b(?:you|your|yours|you're|youre|ya|u|y'all|you guys|you lot)\b", re.I)


def content_words(text: str) -> set[str]:
    return {w.strip("'-") for w in _CONTENT.findall(text.lower())} - _FILLER_WORDS


def asks(text: str) -> bool:
    return bool(_QUESTION.match(text)) or text.rstrip().endswith("?")


def asks_business_contact(text: str) -> bool:
    """A question for how to reach the business, not a request to change the customer's own details."""
    return asks(text) and bool(_BUSINESS_CONTACT.search(text)) and not _CUSTOMERS_OWN.search(text)


def _same_stem(word: str, other: str) -> bool:
    """"mondays" is "monday", "opening" is "open": the same word up to a plural or a longer ending."""
    if word == other or word.rstrip("s") == other.rstrip("s"):
        return True
    shorter, longer = sorted((word, other), key=len)
    return len(shorter) >= 4 and longer.startswith(shorter) and len(longer) - len(shorter) <= 3


class RequestReading:
    """The request-reading half of the embedded interpreter (it sets these attributes)."""

    procedures: Mapping[str, Procedure]
    policy: InterpreterPolicy
    understander: Any  # MessageUnderstander
    knowledge: KnowledgeSearch | None
    records: RecordsDeclaration | None
    _procedure_vocabulary: dict[str, set[str]]

    def _request(self, u: Understanding, name: str, score: float, mid_task: bool, answered: bool,
                 short: bool) -> list[Command]:
        """A new request in the message: a procedure, a knowledge question or a record question."""
        text = u.text
        policy = self.policy
        if not answered and self._record_question(text, name, score):
            return [AskRecord(text)]
        if not answered and asks_business_contact(text):
            # their question for the knowledge base, whatever account request it sounds like; said with the ways
            # of reaching a business, as "email" alone is nearer to articles on the customer's own email
            return [AskKnowledge(f"{text} (how to contact us by phone, chat or email)", question=True)]
        threshold = policy.procedure_mid_task if mid_task else policy.procedure
        is_question = asks(text)
        if name in self.procedures and self._fits_entities(name, u.entities):
            # "where's BB-10133": the id says which request it is
            threshold = policy.procedure_with_id if mid_task else policy.procedure_weak
        if name in self.procedures and score >= threshold and not (answered and not SWITCH.search(text)):
            start = StartProcedure(name, self._prefill(name, u), confidence=score,
                                   instead=mid_task and bool(SWITCH.search(text)))
            if (self._general_question(u, start) and score < 0.97) or self._article_instead(text, start):
                return [AskKnowledge(text, otherwise=self._fallback(text, start), question=is_question)]
            return [start]
        if answered:
            return []
        if mid_task:
            # a side question must look like one: "any time works" answers, "any news on it?" asks
            side_question = "?" in text or (is_question and len(text.split()) > 4)
            return [AskKnowledge(text, question=True)] if side_question else []
        if name == "out_of_scope" and score >= policy.out_of_scope:
            # "what time do you open" sounds like small talk to the classifier, but an article sure of it wins;
            # put to the business ("what time do you shut on a Saturday?") an answering article is enough, of
            # someone else ("what time does the DMV open?") it must be sure
            sure = policy.kb_asked_of_us if is_question and _ASKS_US.search(text) else policy.kb_instead
            return [AskKnowledge(text, question=is_question)] if self._article_knows(text, sure) else [OutOfScope()]
        if name in self.procedures and score >= policy.procedure_weak:
            start = StartProcedure(name, self._prefill(name, u), confidence=score)
            return [AskKnowledge(text, otherwise=self._fallback(text, start), question=is_question)]
        if is_question:
            return [AskKnowledge(text)]
        return []

    def _reread_with_request(self, u: Understanding, opening: str, active: str | None) -> list[Command]:
        """"for the ORDER BB-10166 not my account", said while changing the account's address, asks for
        the same thing on the order: read it together with the request it corrects."""
        if not opening or not any(e.type not in PREFILL_TYPES_EXCLUDED for e in u.entities):
            return []
        opening = _EMAIL.sub(" ", opening)  # the identity details said with it are not the request
        together = self.understander.understand(f"{opening}. {u.text}")
        # the best-ranked request that takes what this message names (an order id), other than the current one
        for candidate in together.intents[:3]:
            fits = candidate.name in self.procedures and self._fits_entities(candidate.name, u.entities)
            if fits and candidate.name != active and candidate.score >= self.policy.procedure_weak:
                return [StartProcedure(candidate.name, self._prefill(candidate.name, u), confidence=candidate.score,
                                       instead=True)]
        return []

    def _record_question(self, text: str, name: str, score: float) -> bool:
        """A question about the customer's own records ("what was in my other order?")."""
        if not (asks(text) or _PERSONAL.search(text) or _TELL_ME.search(text)):
            return False
        if _RECORD_QUESTION.search(text):
            # a statement the classifier is sure is a request reports a problem, it asks for no record: "tracking
            # says it's delivered but there's nothing on my doorstep" is the order's status to look into
            sure_request = name in self.procedures and score >= self.policy.switch
            return asks(text) or bool(_TELL_ME.search(text)) or not sure_request
        if self.records is None or (name in self.procedures and score >= self.policy.switch) or not asks(text):
            return False
        kind = choose_kind(text, self.records)
        if kind is None:
            return False
        query = parse_record_question(text, kind)
        return bool(query.attributes or query.items or query.item_attributes) and bool(_OWN.search(text))

    def _article_instead(self, text: str, start: StartProcedure) -> bool:
        """The knowledge base is sure about a topic the procedure never mentions: "my grinder is jammed"
        is not "won't power on", "cancel my subscription" is not an order cancellation."""
        if self.knowledge is None or start.confidence >= self.policy.switch:
            return False
        hits = self.knowledge.search(text, k=1)
        if not hits or hits[0].score < self.policy.kb_instead:
            return False
        procedure_words = self._procedure_words(start.procedure_id)
        article_words = content_words(f"{hits[0].title} {hits[0].section} {hits[0].text}")
        # in any form: "humming" is the article's "hums"
        novel = [w for w in content_words(text) if any(same_word(w, a) for a in article_words)
                 and not any(same_word(w, p) for p in procedure_words)
                 and not any(w[:5] == p[:5] for p in procedure_words if len(w) >= 5 and len(p) >= 5)]
        return bool(novel)

    def _fallback(self, text: str, start: StartProcedure) -> StartProcedure | None:
        """The procedure to start when no article answers, or None when the question asks for a length of time
        or a frequency none of its triggers ever asks ("how long is the grinder guaranteed for?" is not the
        grinder's price, whatever the product in it)."""
        if not _ASKS_TIME.search(text):
            return start
        triggers = self.procedures[start.procedure_id].triggers
        return start if any(_ASKS_TIME.search(t) for t in triggers) else None

    def _article_knows(self, text: str, sure: float) -> bool:
        """The knowledge base is `sure` it answers this, whatever the out-of-scope class thinks: a business's own
        articles define what is in scope."""
        if self.knowledge is None:
            return False
        hits = self.knowledge.search(text, k=1)
        if not hits or hits[0].score < sure:
            return False
        # the article speaks of the question's own words (or their near-synonyms: "shut" for "closed"), not only
        # of something that sounds like it
        article_words = content_words(f"{hits[0].title} {hits[0].section} {hits[0].text}")
        article_words |= {s for w in article_words for s in synonyms(w)}
        asked = content_words(text)
        spoken = [w for w in asked if any(_same_stem(w, a) or same_word(w, a) for a in article_words)]
        return bool(asked) and len(spoken) * 2 >= len(asked)

    def _procedure_words(self, procedure_id: str) -> set[str]:
        cached = self._procedure_vocabulary.get(procedure_id)
        if cached is None:
            proc = self.procedures[procedure_id]
            cached = content_words(" ".join([proc.title, *proc.triggers]))
            self._procedure_vocabulary[procedure_id] = cached
        return cached

    def _fits_entities(self, procedure_id: str, entities: tuple[Entity, ...]) -> bool:
        types = {slot.type for slot in self.procedures[procedure_id].slots.values()}
        return any(e.type in types and e.type not in PREFILL_TYPES_EXCLUDED and e.type != "product"
                   for e in entities)

    def _general_question(self, u: Understanding, start: StartProcedure) -> bool:
        """A question about how things work ("how long do refunds take?"), not a request about the
        customer's own order, nor a question about one product the procedure is for ("how much is the
        kettle?")."""
        text = u.text
        if not asks(text) or _REQUEST_FORM.search(text):
            return False
        if _HOW_TO.search(text):
            return True
        specific = any(e.type not in ("product", "product_option", "money", "number") for e in u.entities)
        # a question naming what the procedure takes is its request only when the classifier is sure
        # ("how much is the kettle?"); "how many grind sizes does the grinder have?" is for the articles
        about_its_slots = bool(start.slots) and start.confidence >= self.policy.slot_question
        return not specific and not about_its_slots and not _PERSONAL.search(text)

    def _further_requests(self, text: str, first: str) -> list[Command]:
        """'Cancel BB-10160 and also change my address' or "yes, and also where's BB-10154?": each
        request after the first part becomes its own command."""
        parts = [c.strip() for c in _REQUEST_SPLIT.split(text)]
        clauses = [c for c in parts[1:] if len(c.split()) >= 3]
        if not clauses:
            return []
        found: list[Command] = []
        named = {first}
        for clause in clauses:
            clause_u = self.understander.understand(clause)
            top = clause_u.top_intent
            if top is None or top.name not in self.procedures or top.name in named:
                continue
            fits = self._fits_entities(top.name, clause_u.entities)
            if top.score >= (self.policy.procedure_with_id if fits else self.policy.further_request):
                named.add(top.name)
                found.append(StartProcedure(top.name, self._prefill(top.name, clause_u), top.score))
        return found

    def _prefill(self, procedure_id: str, u: Understanding) -> dict[str, Any]:
        """Slot values the message already gives: typed entities, an address, a text slot's pattern,
        one of a choice slot's fixed options."""
        proc = self.procedures[procedure_id]
        slots: dict[str, Any] = {}
        address = split_postal_address(u.text)
        for slot_name, slot in proc.slots.items():
            if slot.many:
                continue
            if slot.type in address:
                slots[slot_name] = address[slot.type]
            elif slot.type == "text" and slot.pattern:
                match = re.search(slot.pattern, u.text)
                if match:
                    slots[slot_name] = re.sub(r"[\s-]+", "", match.group(0)).upper()
            elif slot.type == "choice" and slot.options and not slot.options_from:
                chosen = match_choices(u.text, choices_for(slot, {}), many=False)
                if len(chosen.values) == 1 and not chosen.ambiguous:
                    slots[slot_name] = chosen.values[0]
            elif slot.type not in PREFILL_TYPES_EXCLUDED:
                # a period ("next month") is asked about, not taken as the day, unless the slot keeps windows
                found = [e for e in u.entities if e.type == slot.type
                         and (slot.window or ("/" not in e.value and not names_a_period(e.text)))]
                if len(found) == 1:
                    slots[slot_name] = found[0].value
        return slots
