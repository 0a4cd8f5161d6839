"""The business pack as plain, validated data (pydantic models).

These models are the single source of the pack's JSON Schema (``helpline pack schema``) and of
the validator's error messages; the engine only ever sees these objects, never raw YAML.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")
_DURATION_RE = re.compile(r"^(\d+)\s*(m|min|h|d)$")

BUILTIN_SLOT_TYPES = (
    "email",
    "phone",
    "person_name",
    "postcode",
    "date",
    "time",
    "datetime",
    "money",
    "number",
    "product",
    "product_option",
    "yes_no",
    "choice",
    "text",
    # address parts: only a value that looks like the part is taken (free text is read afresh)
    "street_address",
    "city",
    "region",
    "postal_code",
    "postal_address",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def parse_duration(text: str) -> timedelta:
    """'4h', '30m', '2d' -> timedelta."""
    match = _DURATION_RE.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a duration like 30m, 4h or 2d")
    amount, unit = int(match.group(1)), match.group(2)
    if unit in ("m", "min"):
        return timedelta(minutes=amount)
    if unit == "h":
        return timedelta(hours=amount)
    return timedelta(days=amount)


# --- business.yaml -----------------------------------------------------------------------------


class Persona(Strict):
    name: str = "Helpline"
    tone: Literal["warm", "formal", "concise"] = "warm"
    greeting: str | None = None


class EscalationTier(Strict):
    name: str
    description: str = ""
    phone_extension: str | None = None
    sip_uri: str | None = None
    email: str | None = None


class Escalation(Strict):
    tiers: list[EscalationTier] = Field(min_length=1)
    default_tier: str
    manager_tier: str | None = None

    @model_validator(mode="after")
    def _tiers_exist(self) -> Escalation:
        names = {t.name for t in self.tiers}
        for field_name in ("default_tier", "manager_tier"):
            value = getattr(self, field_name)
            if value is not None and value not in names:
                raise ValueError(f"{field_name} '{value}' is not one of the tiers {sorted(names)}")
        return self

    def tier(self, name: str | None) -> EscalationTier:
        wanted = name or self.default_tier
        for tier in self.tiers:
            if tier.name == wanted:
                return tier
        return self.tiers[0]


class VerificationMethod(Strict):
    fields: list[str] = Field(min_length=1)
    operation: str | None = None  # this method's own lookup (else verification.lookup_operation)
    # assurance this method gives: 1 "identified" (knowing an email, a name and ZIP), 2 "strong" (a secret
    # only the customer has, e.g. an account PIN the lookup checks)
    level: int = Field(default=1, ge=1, le=2)


ContactKind = Literal["email", "phone"]


def _email_only() -> list[ContactKind]:
    return ["email"]


class OneTimeCode(Strict):
    """Step-up to a higher assurance level: a code sent to a contact on the verified customer's record."""

    level: int = Field(default=2, ge=1, le=2)
    send_to: list[ContactKind] = Field(default_factory=_email_only, min_length=1)
    digits: int = Field(default=6, ge=6, le=10)
    expires_minutes: int = Field(default=5, ge=1, le=30)
    max_attempts: int = Field(default=3, ge=1, le=10)


class AttemptLimits(Strict):
    """Identity-verification attempts counted across conversations and server processes (docs/security.md,
    "Verification attempt limits"). A customer record is named by the details the caller gave that are not
    `secret_fields` (the name for name + ZIP, the email for email): guessing a ZIP for "Samuel Rogers" in
    new conversations still counts against Samuel Rogers."""

    window_minutes: int = Field(default=15, ge=1, le=1440)  # failures are counted over this window
    per_record: int = Field(default=5, ge=1, le=100)  # failures on one customer record, from anyone
    per_client: int = Field(default=10, ge=1, le=1000)  # failures from one address / caller number
    # through one widget key or API key, or from all callers without a number: many honest customers share them
    per_shared_client: int = Field(default=100, ge=1, le=100_000)
    lockout_minutes: int = Field(default=15, ge=1, le=1440)  # the first lockout; each next one doubles
    max_lockout_minutes: int = Field(default=1440, ge=1, le=10_080)
    # the factor a caller proves (never part of the record's name, never stored or logged)
    secret_fields: list[str] = Field(default_factory=lambda: ["postcode", "pin", "date_of_birth", "last4"])
    # supervisor alerts: one client failing on this many different records within the window, or one
    # record failed on by this many different clients
    alert_records_per_client: int = Field(default=5, ge=2, le=1000)
    alert_clients_per_record: int = Field(default=3, ge=2, le=1000)

    @model_validator(mode="after")
    def _lockouts_grow(self) -> AttemptLimits:
        if self.max_lockout_minutes < self.lockout_minutes:
            raise ValueError("max_lockout_minutes must be at least lockout_minutes")
        return self


class Verification(Strict):
    lookup_operation: str | None = None
    methods: list[VerificationMethod] = Field(min_length=1)
    max_attempts: int = Field(default=3, ge=1, le=10)
    # called with {"id": <looked-up id>} when the lookup returns only an id
    profile_operation: str | None = None
    one_time_code: OneTimeCode | None = None
    attempt_limits: AttemptLimits = Field(default_factory=AttemptLimits)  # across conversations (finding 2)

    @property
    def highest_level(self) -> int:
        levels = [m.level for m in self.methods] + ([self.one_time_code.level] if self.one_time_code else [])
        return max(levels)

    @model_validator(mode="after")
    def _every_method_has_a_lookup(self) -> Verification:
        if self.lookup_operation is None and any(m.operation is None for m in self.methods):
            raise ValueError("set verification.lookup_operation, or an operation on every method")
        return self

    def operation_for(self, method: VerificationMethod) -> str:
        return method.operation or self.lookup_operation or ""


class CatalogueItem(Strict):
    name: str
    options: dict[str, list[str]] = Field(default_factory=dict)


class Catalogue(Strict):
    operation: str | None = None
    items: list[CatalogueItem] = Field(default_factory=list)


class CallRecording(Strict):
    """Recording phone calls: off unless the business turns it on, and then announced at the start of every
    call. It pauses while a card number is keyed in."""

    enabled: bool = False
    announcement: str = "This call may be recorded for quality and training."
    folder: str = "var/recordings"  # relative to where the server runs


class Retention(Strict):
    """How long customer content is kept (docs/security.md, "Retention and erasure"). A job run by
    `helpline retention run` and every few hours by `helpline serve` anonymises what is older: transcripts
    (messages, saved state, the ticket's, hand-off's and callback's personal fields) `transcripts_days` after
    the conversation ended, recordings `recordings_days` after they were written, audit entries after
    `audit_days`. `null` keeps that kind for ever. Open conversations, and contacts whose callback is still
    to be made, are never touched."""

    transcripts_days: int | None = Field(default=365, ge=1, le=36500)
    recordings_days: int | None = Field(default=90, ge=1, le=36500)
    audit_days: int | None = Field(default=None, ge=1, le=36500)  # kept for ever unless set; erasures always


class MenuOption(Strict):
    """One choice of the phone menu: "press <key> or say <label>". Choosing it is as if the caller had
    said `message`, or the first trigger of `procedure`, or else the label."""

    key: str = Field(pattern=r"^[1-9]$")
    label: str = Field(min_length=1)
    procedure: str | None = None
    message: str | None = None


class LanguageModelConfig(Strict):
    """`llm:` in business.yaml: an optional OpenAI-compatible model (docs/llm.md). Every key is optional and is
    overridden by the HELPLINE_LLM_* environment and the --llm-* flags; the API key is never a pack setting
    (HELPLINE_LLM_API_KEY only), so `api_key` here is an error."""

    url: str | None = Field(default=None, pattern=r"^https?://")
    model: str | None = None
    mode: Literal["embedded", "hybrid", "llm"] | None = None
    timeout_s: float | None = Field(default=None, gt=0, le=120)
    max_retries: int | None = Field(default=None, ge=0, le=5)
    max_tokens: int | None = Field(default=None, ge=16, le=8192)
    share_customer_data: bool | None = None
    breaker_failures: int | None = Field(default=None, ge=1, le=100)
    breaker_cooldown_s: float | None = Field(default=None, ge=0, le=3600)


class BusinessConfig(Strict):
    name: str
    timezone: str = "UTC"
    languages: list[str] = Field(default_factory=lambda: ["en"])
    opening_hours: dict[str, str] = Field(default_factory=dict)
    holidays: list[str] = Field(default_factory=list)
    persona: Persona = Field(default_factory=Persona)
    escalation: Escalation
    retention: Retention = Field(default_factory=Retention)  # how long customer content is kept
    callback_sla: str = "4h"
    verification: Verification
    id_formats: dict[str, str] = Field(default_factory=dict)
    catalogue: Catalogue = Field(default_factory=Catalogue)
    phone_region: str = "US"
    phone_menu: list[MenuOption] = Field(default_factory=list)  # key 0 is always a person
    call_recording: CallRecording = Field(default_factory=CallRecording)
    llm: LanguageModelConfig | None = None  # optional language model (docs/llm.md)

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, value: dict[str, str]) -> dict[str, str]:
        for day, span in value.items():
            if day not in DAYS:
                raise ValueError(f"'{day}' is not a day (use {', '.join(DAYS)})")
            if not _HOURS_RE.match(span):
                raise ValueError(f"'{span}' is not an opening span like 08:00-18:00")
        return value

    @field_validator("phone_menu")
    @classmethod
    def _menu_keys(cls, value: list[MenuOption]) -> list[MenuOption]:
        keys = [option.key for option in value]
        if len(set(keys)) != len(keys):
            raise ValueError(f"phone_menu uses a key twice: {keys}")
        return value

    @field_validator("callback_sla")
    @classmethod
    def _sla(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except Exception as exc:
            raise ValueError(f"unknown timezone '{value}'") from exc
        return value

    @field_validator("id_formats")
    @classmethod
    def _regexes(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"id format '{name}' is not a valid regex: {exc}") from exc
            if name in BUILTIN_SLOT_TYPES:
                raise ValueError(f"id format '{name}' clashes with a built-in slot type")
        return value


# --- operations.yaml ---------------------------------------------------------------------------


class TableSpec(Strict):
    file: str
    key: str | None = None


class HttpAuth(Strict):
    header: str = "Authorization"
    env: str
    prefix: str = ""


class HttpSpec(Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    auth: HttpAuth | None = None
    body: Any = None
    timeout: float = Field(default=5.0, gt=0, le=120)
    retries: int = Field(default=1, ge=0, le=5)
    response: dict[str, str] | str | None = None
    error_when: str | None = None  # expression over `body`/`status`: a business refusal


class OperationSpec(Strict):
    description: str = ""
    params: dict[str, str] = Field(default_factory=dict)
    optional: list[str] = Field(default_factory=list)
    changes_data: bool = False
    owner_field: str | None = None
    requires_assurance: int | None = Field(default=None, ge=1, le=2)  # identity level needed to call it
    sql: str | list[str] | None = None
    returns: Literal["one", "many", "count", "none"] = "one"
    expect_rows: int | None = None
    http: HttpSpec | None = None
    plugin: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> OperationSpec:
        kinds = [k for k in ("sql", "http", "plugin") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("an operation needs exactly one of sql, http or plugin")
        return self

    @property
    def kind(self) -> str:
        return "sql" if self.sql is not None else "http" if self.http is not None else "plugin"


class OperationsFile(Strict):
    tables: dict[str, TableSpec] = Field(default_factory=dict)
    operations: dict[str, OperationSpec] = Field(default_factory=dict)


# --- procedures/*.yaml -------------------------------------------------------------------------


class SlotSpec(Strict):
    type: str
    prompt: str | None = None
    options: list[str] = Field(default_factory=list)
    # options computed from data: a list of dicts, each labelled for matching the customer's words
    options_from: str | None = None
    option_label: str | None = None
    option_value: str | None = None
    many: bool = False  # a list: the customer may name several; asked "anything else?" until done
    more_prompt: str | None = None
    required: bool = True
    # false: never asked; filled only from what the customer said when the request started (e.g. the
    # variant of a product they named: "the big green travel mug")
    ask_customer: bool = True
    # false: never filled from the message that started the request (it names what the customer has,
    # e.g. "change the brown sunglasses", not the new option they want)
    from_first_message: bool = True
    # a text slot filled straight from any message that contains this regex (e.g. an error code
    # "E-?\d{3}"): the match, spaces and dashes removed, upper-cased
    pattern: str | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regex: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _choice_has_options(self) -> SlotSpec:
        if self.type == "choice" and not self.options and not self.options_from:
            raise ValueError("a choice slot needs options or options_from")
        if self.options_from and not self.option_label:
            raise ValueError("options_from needs an option_label template")
        return self


class BranchCase(Strict):
    when: str
    goto: str


class Step(BaseModel):
    """One step; exactly one of the action keys is set (checked by the validator)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    label: str | None = None
    requires_verification: bool = False
    requires_assurance: int | None = Field(default=None, ge=1, le=2)
    # actions
    ask: str | None = None
    prompt: str | None = None
    say: str | None = None
    call: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    save_as: str | None = None
    on_failure: str | None = None
    check: str | None = None
    else_say: str | None = None
    else_goto: str | None = None
    branch: list[BranchCase] | None = None
    otherwise: str | None = None
    confirm: str | None = None
    on_no: str | None = None
    set: dict[str, str] | None = None
    clear: list[str] | None = None
    escalate: str | None = None
    tier: str | None = None
    callback: str | None = None
    within: str | None = None
    end: Literal["resolved", "unresolved"] | None = None
    resolution: str | None = None
    goto: str | None = None

    ACTIONS: tuple[str, ...] = (
        "ask", "call", "check", "branch", "confirm", "set", "clear", "escalate", "callback", "end",
    )  # fmt: skip

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        actions = [a for a in self.ACTIONS if getattr(self, a) is not None]
        if len(actions) > 1:
            raise ValueError(f"a step does one thing; this one has {', '.join(actions)}")
        if not actions and self.say is None and self.goto is None and self.label is None:
            raise ValueError("empty step: use one of ask, say, call, check, branch, confirm, set, "
                             "escalate, callback, end, goto")
        if self.within is not None:
            parse_duration(self.within)
        return self

    @property
    def action(self) -> str:
        for name in self.ACTIONS:
            if getattr(self, name) is not None:
                return name
        if self.say is not None:
            return "say"
        if self.goto is not None:
            return "goto"
        return "noop"


class TicketSpec(Strict):
    tags: list[str] = Field(default_factory=list)


class Procedure(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    category: str = "general"
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    requires_verification: bool = False
    # identity assurance the whole procedure needs: 1 identified (email, name + ZIP), 2 strong (one-time code
    # to the contact on file, or a knowledge factor); default 1 when requires_verification is set
    requires_assurance: int | None = Field(default=None, ge=1, le=2)
    triggers: list[str] = Field(min_length=2)
    slots: dict[str, SlotSpec] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)
    ticket: TicketSpec = Field(default_factory=TicketSpec)

    @model_validator(mode="after")
    def _references(self) -> Procedure:
        if self.requires_assurance:
            self.requires_verification = True
        labels = [s.label for s in self.steps if s.label]
        duplicates = {name for name in labels if labels.count(name) > 1}
        if duplicates:
            raise ValueError(f"labels used twice: {sorted(duplicates)}")
        for index, step in enumerate(self.steps):
            targets = [step.else_goto, step.on_no, step.on_failure, step.goto, step.otherwise]
            targets += [case.goto for case in step.branch or []]
            for target in targets:
                if target is not None and target not in labels:
                    raise ValueError(f"step {index + 1} jumps to unknown label '{target}'")
            if step.ask is not None and step.ask not in self.slots:
                raise ValueError(f"step {index + 1} asks for undeclared slot '{step.ask}'")
        return self

    def index_of(self, label: str) -> int:
        for index, step in enumerate(self.steps):
            if step.label == label:
                return index
        raise KeyError(label)


# --- templates/replies.yaml --------------------------------------------------------------------


class Replies(BaseModel):
    model_config = ConfigDict(extra="forbid")
    replies: dict[str, list[str]]

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Replies:
        normalised: dict[str, list[str]] = {}
        for key, value in data.items():
            normalised[key] = [value] if isinstance(value, str) else list(value)
        return cls(replies=normalised)
