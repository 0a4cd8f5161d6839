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
from helpline.understanding.builtin_intents import OUT_OF_SCOPE
from helpline.understanding.faults import for_another_fault
from helpline.understanding.record_questions import choose_kind, parse_record_question
from helpline.understanding.request_fit import (
    ASKS_PRICE,
    alike,
    content_words,
    delivery_problem,
    for_other_products,
    meaning_words,
    names_only_its_product,
    never_says_no_power,
    reports_it_done,
    same_stem,
    shows_life,
    without_its_code,
)
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
    kb_titled: float = 0.4  # ... this sure, when its title names a word of the message the procedure never mentions
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

# "I need", "I want" say what the caller wants done; asked ("do I need to update it myself?") they ask what the
# business requires, a question about how things work
_NOT_ASKED = r"(?<!\bdo )(?<!\bdoes )(?<!\bshould )(?<!\bwould )(?<!\bwill )(?<!\bcan )(?<!\bcould )(?<!\bmust )"

_PERSONAL = re.compile(rf"\b(my|mine|me|i've|i'd like|{_NOT_ASKED}i want|{_NOT_ASKED}i need|please|i ordered|i paid"
                       r"|i bought|i get)\b", re.I)

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

_REQUEST_FORM = re.compile(r"^\W*(can|could|would|will) (you|someone|somebody|u)\b|^\W*please\b"
                           rf"|\b{_NOT_ASKED}i (want|need|would like|'d like)\b", re.I)

_HOW_TO = re.compile(r"^\W*(how (do|can|should|would|long|often|much time)|what (happens|should)|is it (ok|safe|normal)"
                     r"|can i (use|put|wash|leave|make|get|pay|order|return|exchange|change)\b(?!.* (my|order)))", re.I)

_TELL_ME = re.compile(r"\b(tell me|remind me|show me|let me know|i (want|need) to know|i'?d like to know)\b", re.I)

# a question about records the customer has: "my order", "did I", "I paid", "the other one", "that order"
_OWN = re.compile(r"\b(my (last|latest|recent|most recent|first|previous|other)?\s*(orders?|purchases?|items?|stuff"
                  r"|parcels?|packages?|deliver(y|ies)|shipments?)"
                  r"|did (i|we)|(i|we) (ordered|bought|paid|got|purchased|received)|i'?ve (ordered|bought|paid)"
                  r"|the other (one|order)|(that|this) order|in (my|the) order|(is|was|will) (it|that|this) "
                  r"(going|being|sent|shipped|delivered|coming|arriving))\b", re.I)

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

# what a caller who has already sent an item back is waiting for (`_knowledge_query`)
_REFUND_AFTER_RETURN = "how long does a refund take"

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")

# a question put to the business itself ("do you", "are you open", "your hours"), not about someone else
_ASKS_US = re.compile(r"\b(?:you|your|yours|you're|youre|ya|u|y'all|you guys|you lot)\b", re.I)


# How a caller starts speaking before the question itself: a greeting, a hesitation, "so", "well" ("hi um do you
# ship to Canada", "um is the travel mug dishwasher safe"). Not "yes"/"okay": those answer the agent.
_SPOKEN_OPENING = re.compile(r"^(?:\W*(?:hi|hiya|hey|hello|hi there|um+|uh+m*|erm+|er|hmm+|so|well|oh|basically"
                             r"|sorry|excuse me)\b)+[\W]*", re.I)


def after_opening(text: str) -> str:
    """The message without the greeting or hesitation a caller starts with."""
    return _SPOKEN_OPENING.sub("", text, count=1)


def asks(text: str) -> bool:
    return bool(_QUESTION.match(after_opening(text))) or text.rstrip().endswith("?")


def asks_business_contact(text: str) -> bool:
    """A question for how to reach the business, not a request to change the customer's own details."""
    return asks(text) and bool(_BUSINESS_CONTACT.search(text)) and not _CUSTOMERS_OWN.search(text)


class RequestReading:
    """The request-reading half of the embedded interpreter (it sets these attributes)."""

    procedures: Mapping[str, Procedure]
    policy: InterpreterPolicy
    understander: Any  # MessageUnderstander
    knowledge: KnowledgeSearch | None
    records: RecordsDeclaration | None
    _procedure_vocabulary: dict[str, set[str]]
    _catalogue_vocabulary: frozenset[str] | None

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
        problem = delivery_problem(text)
        if problem and not mid_task and not answered and not _HOW_TO.search(after_opening(text)):
            # "I ordered the 1 litre and you've sent me the 2 litre": the request is the procedure for a wrong item,
            # however the product's article ranks
            put_right = self._delivery_request(u, problem)
            if put_right is not None:
                return [put_right]
        if name in self.procedures and self._fits_entities(name, u.entities):
            # "where's BB-10133": the id says which request it is
            threshold = policy.procedure_with_id if mid_task else policy.procedure_weak
        if name in self.procedures and score >= threshold and not (answered and not SWITCH.search(text)):
            start = StartProcedure(name, self._prefill(name, u), confidence=score,
                                   instead=mid_task and bool(SWITCH.search(text)))
            if self._not_its_request(u, name) or (score < policy.switch and self._article_titled(text, name)):
                # "the espresso one is leaking": an article on what is said answers, if any does
                return [AskKnowledge(self._knowledge_query(text, name), question=is_question)]
            if without_its_code(text, self.procedures[name]):
                # the procedure would first ask for a code the caller never spoke of: the articles first
                return [AskKnowledge(text, otherwise=self._fallback(u, start), question=is_question)]
            if (self._general_question(u, start) and score < 0.97) or self._article_instead(text, start):
                return [AskKnowledge(text, otherwise=self._fallback(u, start), question=is_question)]
            return [start]
        if answered:
            return []
        if mid_task:
            # a side question must look like one: "any time works" answers, "any news on it?" asks
            side_question = "?" in text or (is_question and len(text.split()) > 4)
            return [AskKnowledge(text, question=True)] if side_question else []
        if name == OUT_OF_SCOPE and score >= policy.out_of_scope:
            # "what time do you open" sounds like small talk to the classifier, but an article sure of it wins;
            # put to the business ("what time do you shut on a Saturday?") an answering article is enough, of
            # someone else ("what time does the DMV open?") it must be sure
            sure = policy.kb_asked_of_us if is_question and _ASKS_US.search(text) else policy.kb_instead
            return [AskKnowledge(text, question=is_question)] if self._article_knows(text, sure) else [OutOfScope()]
        if name in self.procedures and score >= policy.procedure_weak:
            start = StartProcedure(name, self._prefill(name, u), confidence=score)
            return [AskKnowledge(self._knowledge_query(text, name), otherwise=self._fallback(u, start),
                                 question=is_question)]
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
        if delivery_problem(text):
            # "only the mug showed up, where's the rest?" reports a problem with the order to look into (the
            # status procedure traces a parcel marked delivered); no record's fields answer it
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

    def _article_titled(self, text: str, procedure_id: str) -> bool:
        """The knowledge base is fairly sure of an article titled by a word of the message the procedure never
        mentions: "my payment keeps getting declined" is the article on payment methods and declined payments, no
        charge to explain. (A product's name in a title is the product's, not the topic asked about.)"""
        if self.knowledge is None:
            return False
        hits = self.knowledge.search(text, k=1)
        if not hits or hits[0].score < self.policy.kb_titled:
            return False
        title_words = meaning_words(content_words(hits[0].title)) - self._catalogue_words()
        procedure_words = self._procedure_words(procedure_id)
        return any(any(same_word(w, t) for t in title_words) and not any(alike(w, p) for p in procedure_words)
                   for w in meaning_words(content_words(text)))

    def _fallback(self, u: Understanding, start: StartProcedure) -> StartProcedure | None:
        """The procedure to start when no article answers, or None when the question asks for a length of time
        or a frequency none of its triggers ever asks ("how long is the grinder guaranteed for?" is not the
        grinder's price, whatever the product in it).

        Likewise a procedure about a product (its first slot), when no product of the catalogue is named: it is the
        fallback only for a question asking the price its triggers ask ("do you sell loose leaf tea?" names nothing
        the shop sells and asks no price: no article answering it is no reason to ask "which product?"), nor when the
        message rules it out (`_not_its_request`), nor a machine that won't power on for a message never saying so
        (the weak guess heard "kettle" and "light" in "my kettle won't connect to the wifi, the light keeps
        blinking")."""
        text = u.text
        procedure = self.procedures[start.procedure_id]
        triggers = procedure.triggers
        if (self._not_its_request(u, start.procedure_id) or self._article_titled(text, start.procedure_id)
                or never_says_no_power(text, procedure)):
            return None
        # about a product: its first slot is the product (an exchange's first is the order, the product follows)
        first_slot = next(iter(procedure.slots.items()), None)
        if first_slot is not None and first_slot[1].type == "product" and not start.slots.get(first_slot[0]):
            asks_its_price = bool(ASKS_PRICE.search(text)) and any(ASKS_PRICE.search(t) for t in triggers)
            if not asks_its_price:
                return None
        if not _ASKS_TIME.search(text):
            return start
        return start if any(_ASKS_TIME.search(t) for t in triggers) else None

    def _not_its_request(self, u: Understanding, procedure_id: str) -> bool:
        """What the message says rules the procedure out, whatever the classifier heard (request_fit.py): only a
        product's name in common, products it is not for, the thing already done, a machine that does power on, a
        fault the procedure is not for."""
        procedure = self.procedures[procedure_id]
        return (names_only_its_product(u, procedure, self._procedure_words(procedure_id), self._catalogue_words())
                or for_other_products(u, procedure) or reports_it_done(u.text, procedure)
                or shows_life(u.text, procedure) or for_another_fault(u.text, procedure))

    def _knowledge_query(self, text: str, procedure_id: str) -> str:
        """The question for the articles: the caller's words, and for an item they have already sent back what
        they are waiting for (the articles' refund times, which "I sent the frother back two weeks ago" never says)."""
        if reports_it_done(text, self.procedures[procedure_id]):
            return f"{text} ({_REFUND_AFTER_RETURN})"
        return text

    def _delivery_request(self, u: Understanding, problem: str) -> StartProcedure | None:
        """The best-ranked procedure whose triggers tell of the same `problem` with a delivery ("I received the wrong
        item and want to return it"), for a message that tells of one."""
        for intent in u.intents:
            procedure = self.procedures.get(intent.name)
            if procedure is not None and any(delivery_problem(t) == problem for t in procedure.triggers):
                return StartProcedure(intent.name, self._prefill(intent.name, u), confidence=intent.score)
        return None

    def _catalogue_words(self) -> frozenset[str]:
        """The words of the catalogue's product names ("espresso", "kettle", "beans")."""
        if self._catalogue_vocabulary is None:
            extractor = getattr(self.understander, "extractor", None)
            names: tuple[str, ...] = getattr(extractor, "product_names", ())
            self._catalogue_vocabulary = frozenset(meaning_words(content_words(" ".join(names))))
        return self._catalogue_vocabulary

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
        spoken = [w for w in asked if any(same_stem(w, a) or same_word(w, a) for a in article_words)]
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
        spoken = after_opening(text)
        if not asks(text) or _REQUEST_FORM.search(spoken):
            return False
        if _HOW_TO.search(spoken):
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
