"""The business pack as plain, validated data (pydantic models).

These models are the single source of the pack's JSON Schema (``helpline pack schema``) and of
the validator's error messages; the engine only ever sees these objects, never raw YAML.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    field_validator,
    model_validator,
)

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


def check_opening_hours(value: dict[str, str]) -> dict[str, str]:
    """`{mon: "08:00-18:00", ...}`: known days, spans that close after they open."""
    for day, span in value.items():
        if day not in DAYS:
            raise ValueError(f"'{day}' is not a day (use {', '.join(DAYS)})")
        if not _HOURS_RE.match(span):
            raise ValueError(f"'{span}' is not an opening span like 08:00-18:00")
        start, end = span.split("-")
        if end <= start:
            raise ValueError(f"'{span}' closes before it opens (a span is within one day, up to 24:00)")
    return value


def check_holidays(value: list[str]) -> list[str]:
    """Holidays are ISO dates ("2026-12-25")."""
    for day in value:
        try:
            date.fromisoformat(day)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"holiday '{day}' is not a date like 2026-12-25") from exc
    return value


CHANNEL_NAMES = ("chat", "phone", "voice", "email", "sms", "api")  # the channels a conversation comes in on


class TeamHours(Strict):
    """A team's hours on one channel (e.g. phones answered 08-18, chat 08-22); unset = the tier's."""

    opening_hours: dict[str, str] | None = Field(default=None, description=(
        "day -> \"HH:MM-HH:MM\" (mon..sun); unset: the business's (or, per channel, the team's) hours"))
    holidays: list[str] | None = Field(default=None, description="closed dates, YYYY-MM-DD; unset: as above")

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else check_opening_hours(value)

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_holidays(value)


class EscalationTier(TeamHours):
    name: str
    description: str = ""
    phone_extension: str | None = None
    sip_uri: str | None = None
    email: str | None = None
    # the team's own hours and holidays (TeamHours' fields; unset = the business's), and per channel (unset = the
    # team's): "is someone there" for a hand-off, and the hours its callback promises are counted in
    channels: dict[str, TeamHours] = Field(default_factory=dict)  # chat, phone, voice, email, sms, api
    callback_sla: str | None = None  # this team's callback promise (unset = the business's callback_sla)

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: dict[str, TeamHours]) -> dict[str, TeamHours]:
        unknown = sorted(set(value) - set(CHANNEL_NAMES))
        if unknown:
            raise ValueError(f"unknown channel(s) {unknown} (use {', '.join(CHANNEL_NAMES)})")
        return value

    @field_validator("callback_sla")
    @classmethod
    def _sla(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


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


# Typed verification factors (issue 15 item 1): each type has its own reading (understanding/factors.py) and
# comparison (conversation/verification.py). Types that prove something rather than name a record:
FactorType = Literal["account_number", "phone_last4", "card_last4", "date_of_birth", "postcode", "pin", "name",
                     "email", "one_time_code"]
SECRET_FACTOR_TYPES = frozenset({"phone_last4", "card_last4", "date_of_birth", "postcode", "pin", "one_time_code"})


class Factor(Strict):
    """One verification factor: `verification.factors.<name>` (`phone_last4: {type: phone_last4, field: phone}`).
    With `field`, Helpline compares what the caller said with that field of the record the lookup found (the
    last 4 digits of `phone`, a date of birth in any format, a PIN in constant time); without it, the value is
    an argument of the lookup operation, under the factor's name."""

    type: FactorType
    field: str | None = None
    label: str | None = None  # how the agent names it when asking ("the last 4 digits of your phone number")
    day_first: bool | None = None  # date_of_birth: 03/04 is 3 April; default from the business's phone_region


class AuthorisedUsers(Strict):
    """Who besides the holder may be served on an account: a list in the account record (`field`) or the result
    of an operation called with `{id: <account id>}`. Each entry names a person (`name_field`) and carries the
    fields their own `factors` are compared with. A caller who says he is someone else is served only if he is
    one of them."""

    field: str | None = None
    operation: str | None = None
    name_field: str = "name"
    relationship_field: str = "relationship"
    factors: dict[str, Factor] = Field(default_factory=dict)  # each with a `field` of the entry

    @model_validator(mode="after")
    def _one_source(self) -> AuthorisedUsers:
        if (self.field is None) == (self.operation is None):
            raise ValueError("authorised_users needs exactly one of `field` or `operation`")
        for name, factor in self.factors.items():
            if factor.field is None:
                raise ValueError(f"authorised_users factor '{name}' needs the `field` it is compared with")
        return self


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
    # typed factors by the name methods use; a method field not declared here keeps the untyped behaviour
    # (an entity type passed to the lookup operation)
    factors: dict[str, Factor] = Field(default_factory=dict)
    authorised_users: AuthorisedUsers | None = None

    @model_validator(mode="after")
    def _methods_find_a_record(self) -> Verification:
        for method in self.methods:
            typed = [self.factors[f] for f in method.fields if f in self.factors]
            if any(f.type == "one_time_code" for f in typed):
                raise ValueError("a one-time code is a step-up, not a method factor: use verification.one_time_code")
            if len(typed) == len(method.fields) and all(f.field is not None for f in typed):
                raise ValueError(f"method {method.fields}: every factor is compared with a record field, so "
                                 "nothing is passed to the lookup to find the record")
        return self

    def factor(self, name: str) -> Factor | None:
        """The declared typed factor of a method field, or None for an untyped (entity-type) field."""
        return self.factors.get(name)

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


class EmailChannelConfig(Strict):
    """`email:` in business.yaml: the email channel (docs/channels-email-sms.md, "Email"). The command line's
    --smtp-port / --smtp-relay / --smtp-tls / --imap-url and HELPLINE_SMTP_RELAY / HELPLINE_IMAP_URL win over
    these; passwords only ever come from the environment."""

    address: str | None = None  # our support address: the From of replies; mail from it is never answered
    display_name: str | None = None  # the From name (default: the business name)
    smtp_port: int | None = Field(default=None, ge=1, le=65535)  # the inbound listener (MX or forwarding)
    smtp_relay: str | None = Field(default=None, pattern=r"^[^\s:/]+:\d{1,5}$")  # host:port for outbound
    smtp_tls: Literal["starttls", "tls", "none"] | None = None
    imap_url: str | None = Field(default=None, pattern=r"^imaps?://[^/\s]+@[^/\s]+")  # imaps://user@host/INBOX
    imap_poll_seconds: float = Field(default=60.0, ge=1, le=3600)  # when the server offers no IDLE
    max_message_bytes: int = Field(default=25_000_000, ge=10_000, le=200_000_000)
    max_attachment_bytes: int = Field(default=10_000_000, ge=0, le=100_000_000)  # each; larger ones are dropped
    max_attachments: int = Field(default=10, ge=0, le=100)
    attachments_folder: str = "var/attachments"  # one folder per ticket under it; files are never executed
    replies_per_sender_per_hour: int = Field(default=10, ge=1, le=1000)  # more from one address: no answer


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


class OutboundConfig(Strict):
    """`outbound:` in business.yaml: what Helpline sends on its own (docs/channels-email-sms.md, "What Helpline
    sends"). Nothing is sent automatically until a kind is listed in `automatic` (preview each kind in the
    console first); `contact_*` is how the messages tell customers to reach the business."""

    automatic: list[Literal["recap", "apology", "survey", "outage_notice", "callback_reminder"]] = Field(
        default_factory=list)
    survey_channel: Literal["email", "sms"] = "email"
    # what the survey asks: CSAT 1-5, NPS 0-10 ("how likely are you to recommend us"), or both in turn (CSAT first)
    survey_asks: Literal["csat", "nps", "both"] = "csat"
    delay: str = "10m"  # after a contact ends, before its recap, apology or survey is sent
    reminder_before: str = "1h"  # a callback reminder goes this long before the callback is due
    contact_email: str | None = None
    contact_phone: str | None = None
    website: str | None = None

    @field_validator("delay", "reminder_before")
    @classmethod
    def _durations(cls, value: str) -> str:
        parse_duration(value)
        return value


class SmsChannelConfig(Strict):
    """`sms:` in business.yaml (docs/channels-email-sms.md). The --sms-* flags and HELPLINE_SMS_* environment
    override it; the auth token is never a pack setting (HELPLINE_SMS_AUTH_TOKEN only)."""

    api_url: str | None = Field(default=None, pattern=r"^https?://")  # Twilio's, or a compatible provider's
    account: str | None = None  # the account SID
    from_number: str | None = None  # our number (E.164) or messaging service
    public_url: str | None = Field(default=None, pattern=r"^https?://")  # how the provider reaches this server
    max_segments: int = Field(default=2, ge=1, le=10)  # longer replies are shortened to fit


class TeamChatKind(StrEnum):
    SLACK = "slack"
    MATTERMOST = "mattermost"
    TEAMS = "teams"  # a Microsoft Teams Workflows "post to a channel when a webhook request is received" URL


class TeamWebhook(Strict):
    kind: TeamChatKind
    # The webhook URL is a secret (anyone holding it can post to the channel), so the pack names the
    # environment variable that holds it, never the URL itself.
    url_env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$", description="Environment variable holding the URL.")


class TeamConfig(Strict):
    """Asking a teammate without handing off, and where the team is told (helpline/team/)."""

    ask_teammates: bool = Field(default=False, description=(
        "When the knowledge base does not answer a question and a person is on duty, post the question to the "
        "team and keep serving, instead of offering a transfer."))
    wait_minutes: int = Field(default=10, ge=1, le=24 * 60, description=(
        "How long the agent waits for a colleague's answer before offering a callback."))
    webhooks: list[TeamWebhook] = Field(default_factory=list, description=(
        "Team chats told about questions and hand-offs (the console's inbox always is)."))
    share_customer_data: bool = Field(default=False, description=(
        "Let names, emails, phone numbers and addresses reach the team chat. Card numbers and secrets never do."))


class ServiceLevel(Strict):
    """The answering target the dashboard's service level is measured against (80 % of calls in 20 s by default)."""

    answer_seconds: int = Field(default=20, ge=1, le=3600, description="A call answered within this many seconds "
                                "counts as answered in time.")
    goal: float = Field(default=0.8, gt=0, le=1, description="The share of calls to answer in time (0.8 = 80 %).")


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
    sms: SmsChannelConfig = Field(default_factory=SmsChannelConfig)  # the SMS channel
    llm: LanguageModelConfig | None = None  # optional language model (docs/llm.md)
    email: EmailChannelConfig = Field(default_factory=EmailChannelConfig)  # the email channel
    outbound: OutboundConfig = Field(default_factory=OutboundConfig)  # what Helpline sends on its own
    team: TeamConfig = Field(default_factory=TeamConfig)  # asking a teammate, team chat webhooks
    service_level: ServiceLevel = Field(default_factory=ServiceLevel)  # the dashboard's answering target

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, value: dict[str, str]) -> dict[str, str]:
        return check_opening_hours(value)

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: list[str]) -> list[str]:
        return check_holidays(value)

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


ColumnType = Literal["text", "integer", "decimal", "number", "boolean", "date", "datetime", "json"]
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ColumnSpec(Strict):
    """One declared column of a built-in table: its type is kept in the database (a `decimal` is NUMERIC, a
    `date` a DATE), whatever the seed rows look like."""

    type: ColumnType = "text"
    key: bool = False  # part of the primary key
    required: bool = False  # NOT NULL


class TableSpec(Strict):
    """A built-in SQL table. Declared: `columns` (with types and keys), `indexes`, an optional `seed` file
    (CSV or JSON); the table may start empty. Deprecated inferred form: `file` (+ `key`), the columns taken
    from the file's first row and their types guessed from the data."""

    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    indexes: list[list[str]] = Field(default_factory=list)  # each an index over these columns, in order
    seed: str | None = None  # rows loaded the first time the table is created (data/*.csv or *.json)
    # deprecated inferred form
    file: str | None = None
    key: str | None = None

    @field_validator("columns", mode="before")
    @classmethod
    def _column_shorthand(cls, value: Any) -> Any:
        # `balance: decimal` is `balance: {type: decimal}`
        if isinstance(value, dict):
            return {name: {"type": spec} if isinstance(spec, str) else spec for name, spec in value.items()}
        return value

    @model_validator(mode="after")
    def _declared_or_inferred(self) -> TableSpec:
        if self.columns:
            if self.file is not None or self.key is not None:
                raise ValueError("a table with declared columns takes `seed:` for its rows and `key: true` on "
                                 "its key columns (file/key belong to the old inferred form)")
            for name in self.columns:
                if not _IDENTIFIER.match(name):
                    raise ValueError(f"column '{name}' is not a plain name (letters, digits, _)")
            for index in self.indexes:
                if not index:
                    raise ValueError("an index needs at least one column")
                unknown = [c for c in index if c not in self.columns]
                if unknown:
                    raise ValueError(f"index {index} names undeclared column(s) {unknown}")
        elif self.file is None:
            raise ValueError("declare the table's columns (columns: {id: {type: text, key: true}, ...}), or give "
                             "the deprecated `file:` to infer them from")
        elif self.indexes or self.seed is not None:
            raise ValueError("indexes and seed need declared columns")
        return self

    @property
    def declared(self) -> bool:
        return bool(self.columns)

    @property
    def seed_file(self) -> str | None:
        """The file the rows come from, in either form."""
        return self.seed if self.declared else self.file


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
    description: str = Field(default="", description="what it does (for people reading the pack)")
    params: dict[str, str] = Field(
        default_factory=dict, description="parameter name -> type; required unless in `optional`")
    optional: list[str] = Field(default_factory=list, description="parameters that may be left out")
    changes_data: bool = Field(
        default=False, description="alters the record: runs only right after a confirmed `confirm`")
    owner_field: str | None = Field(
        default=None, description="the result field holding the customer id: other customers' results are refused")
    requires_assurance: int | None = Field(default=None, ge=1, le=2, description="identity level needed to call it")
    sql: str | list[str] | None = Field(
        default=None, description="SQL on the built-in tables with :named params (several: one transaction)")
    returns: Literal["one", "many", "count", "none"] = Field(
        default="one", description="`sql`: the first row, all rows, a count, or nothing")
    expect_rows: int | None = Field(
        default=None, description="`sql`: rows the first statement must change, else rolled back")
    http: HttpSpec | None = Field(default=None, description="a declarative HTTP call")
    plugin: str | None = Field(default=None, description="a Python function: `module:function` or an entry point name")

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


LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")  # ISO 639-1 (or -3), optionally a region: es, pt-BR


def _per_language(value: Any) -> bool:
    """A `{en: ..., es: ...}` map whose keys all look like language codes (anything else is left to the type)."""
    return isinstance(value, dict) and bool(value) and all(
        isinstance(k, str) and LANGUAGE_CODE.match(k) for k in value)


def per_language_schema(schema: dict[str, Any]) -> None:
    """JSON Schema: a text (or list of texts) field also takes a map of language code -> the same."""
    one = {key: schema.pop(key) for key in ("type", "items", "minItems") if key in schema}
    alternatives = schema.pop("anyOf", None) or [one]
    # per language, any number of phrasings: the minimum counts over all languages together
    plain = [{k: v for k, v in alt.items() if k != "minItems"} for alt in alternatives if alt.get("type") != "null"]
    by_language = {"type": "object", "propertyNames": {"pattern": LANGUAGE_CODE.pattern},
                   "additionalProperties": plain[0] if len(plain) == 1 else {"anyOf": plain}}
    schema["anyOf"] = [*alternatives, by_language]


class Localised(BaseModel):
    """A model some of whose texts (LOCALISED) may be written per language: `prompt: {en: ..., es: ...}`.

    The field keeps one text, the first given (the loader then picks the pack's default language's), so every
    reader of the field works unchanged; the per-language texts are kept in `translations`, from which the
    loader builds the pack's wording per language (the default-language text is the key)."""

    LOCALISED: ClassVar[tuple[str, ...]] = ()
    _translations: dict[str, dict[str, str]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _split_languages(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        found: dict[str, dict[str, str]] = {}
        if isinstance(data, dict):
            data = dict(data)
            for name in cls.LOCALISED:
                value = data.get(name)
                if _per_language(value) and all(isinstance(v, str) for v in value.values()):
                    found[name] = {str(k): str(v) for k, v in value.items()}
                    data[name] = next(iter(found[name].values()))
        model = handler(data)
        if found and isinstance(model, Localised):
            model._translations = found
        return model

    @property
    def translations(self) -> dict[str, dict[str, str]]:
        """field -> language -> text, for the fields given per language."""
        return self._translations


class ChoiceOption(Strict, Localised):
    """One option of a `choice` slot. The slot keeps `value`; the customer's words are matched to the label,
    the synonyms and the description (by words, by meaning and by "the second one")."""

    LOCALISED: ClassVar[tuple[str, ...]] = ("label",)

    value: str = Field(min_length=1)
    # what the agent reads out (default: the value); or per language {en: .., es: ..}
    label: str | None = Field(default=None, json_schema_extra=per_language_schema)
    synonyms: list[str] = Field(default_factory=list)  # other ways customers say it ("ship it", "mail me a box")
    description: str = ""  # what it means, also matched by meaning ("the price one")

    @property
    def shown(self) -> str:
        return self.label or self.value


class SlotSpec(Strict, Localised):
    LOCALISED: ClassVar[tuple[str, ...]] = ("prompt", "more_prompt")

    type: str = Field(description="a slot type (see Slot types) or an id_formats name")
    prompt: str | None = Field(default=None, json_schema_extra=per_language_schema,
                               description="the question (a template; or one per language: {en: ..., es: ...})")
    # a choice slot's fixed options: plain strings, or {value, label, synonyms, description}
    options: list[ChoiceOption] = Field(default_factory=list)
    # options computed from data: a list of dicts, each labelled for matching the customer's words
    options_from: str | None = Field(
        default=None, description="`choice`: an expression giving a list of records to choose from")
    option_label: str | None = Field(
        default=None, description="`options_from`: template over each record's fields, matched to the words")
    option_value: str | None = Field(
        default=None, description="`options_from`: expression for what the slot keeps (default: the record)")
    many: bool = Field(default=False, description="a list: several values, \"anything else?\" until done")
    more_prompt: str | None = Field(default=None, json_schema_extra=per_language_schema,
                                    description="`many`: the question for one more (or one per language)")
    required: bool = Field(default=True, description="false: the procedure goes on without it")
    # false: never asked; filled only from what the customer said when the request started (e.g. the
    # variant of a product they named: "the big green travel mug")
    ask_customer: bool = Field(default=True, description="false: never asked, only taken from the first message")
    # false: never filled from the message that started the request (it names what the customer has,
    # e.g. "change the brown sunglasses", not the new option they want)
    from_first_message: bool = Field(
        default=True, description="false: never filled from the message that started the request")
    # a text slot filled straight from any message that contains this regex (e.g. an error code
    # "E-?\d{3}"): the match, spaces and dashes removed, upper-cased
    pattern: str | None = Field(
        default=None, description="`text`: a regex; a match in any message fills it (spaces and dashes removed, "
                    "upper-cased)")
    # date, time and datetime slots: true also takes a window ("between the 3rd and the 5th", "after 3pm",
    # "mornings"), kept as "start/end" (ISO 8601: "2026-12-03/2026-12-05", "15:00/18:00"); false asks for one
    window: bool = False

    @field_validator("options", mode="before")
    @classmethod
    def _plain_options(cls, value: Any) -> Any:
        # the plain-string form ("options: [no longer needed, ordered by mistake]") is still accepted
        if isinstance(value, list):
            return [{"value": item} if isinstance(item, str) else item for item in value]
        return value

    @property
    def option_values(self) -> list[str]:
        return [option.value for option in self.options]

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
        values = self.option_values
        if len(set(values)) != len(values):
            raise ValueError(f"a choice slot lists an option value twice: {values}")
        if self.window and self.type not in ("date", "time", "datetime"):
            raise ValueError("window: true is for date, time and datetime slots")
        return self


class BranchCase(Strict):
    when: str = Field(description="an expression")
    goto: str = Field(description="the label to jump to when it is true")


class Step(Localised):
    """One step; exactly one of the action keys is set (checked by the validator)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    LOCALISED: ClassVar[tuple[str, ...]] = ("prompt", "say", "confirm", "else_say")

    label: str | None = Field(default=None, description="names the step as a jump target")
    requires_verification: bool = Field(default=False, description="verify the customer before this step")
    requires_assurance: int | None = Field(
        default=None, ge=1, le=2, description="identity level this step needs (2: a one-time code or a strong method)")
    # actions
    ask: str | None = Field(default=None, description="ask for this slot unless it is known")
    prompt: str | None = Field(default=None, json_schema_extra=per_language_schema, description=(
        "`ask`: the question, instead of the slot's prompt (or one per language: {en: ..., es: ...})"))
    say: str | None = Field(default=None, json_schema_extra=per_language_schema,
                            description="a template (or a templates/replies.yaml key) to say (or one per language)")
    call: str | None = Field(default=None, description="the operation to call (operations.yaml)")
    args: dict[str, Any] = Field(
        default_factory=dict, description="`call`: parameter -> template (one `{{ expr }}` keeps its type)")
    save_as: str | None = Field(default=None, description="`call`: the name the result is kept under")
    on_failure: str | None = Field(
        default=None, description="`call`: label to jump to when it fails (default: apologise and escalate)")
    check: str | None = Field(default=None, description="an expression that must be true to go on")
    else_say: str | None = Field(default=None, json_schema_extra=per_language_schema,
                                 description="`check`: said when it is false (or one per language)")
    else_goto: str | None = Field(
        default=None, description="`check`: label to jump to when false (default: end unresolved)")
    branch: list[BranchCase] | None = Field(default=None, description="jump to the first case whose `when` is true")
    otherwise: str | None = Field(
        default=None, description="`branch`: label when no case holds (default: the next step)")
    confirm: str | None = Field(default=None, json_schema_extra=per_language_schema,
                                description="list the change and wait for an explicit yes (or one per language)")
    on_no: str | None = Field(default=None, description="`confirm`: label to jump to on a no")
    set: dict[str, str] | None = Field(default=None, description="name -> expression: values later steps can use")
    clear: list[str] | None = Field(default=None, description="slots to forget (to ask them again in a loop)")
    escalate: str | None = Field(default=None, description="hand off to a person, with this reason (a template)")
    tier: str | None = Field(default=None, description="`escalate`: the escalation tier (default: default_tier)")
    callback: str | None = Field(default=None, description="book a callback, with this reason (a template)")
    within: str | None = Field(
        default=None, description="`callback`: due within this (30m, 4h, 2d; default: callback_sla)")
    end: Literal["resolved", "unresolved"] | None = Field(
        default=None, description="end the procedure with this outcome")
    resolution: str | None = Field(default=None, description="`end`: the ticket's resolution (a template)")
    goto: str | None = Field(default=None, description="jump to this label")
    # hand the request over to another procedure, passing what was learned (slot name -> template); the
    # other procedure never asks for a slot it was given
    handover: str | None = Field(default=None, validation_alias=AliasChoices("handover", "start"))
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")

    ACTIONS: tuple[str, ...] = (
        "ask", "call", "check", "branch", "confirm", "set", "clear", "escalate", "callback", "end", "handover",
    )  # fmt: skip

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        actions = [a for a in self.ACTIONS if getattr(self, a) is not None]
        if len(actions) > 1:
            raise ValueError(f"a step does one thing; this one has {', '.join(actions)}")
        if not actions and self.say is None and self.goto is None and self.label is None:
            raise ValueError("empty step: use one of ask, say, call, check, branch, confirm, set, "
                             "escalate, callback, end, handover, goto")
        if self.within is not None:
            parse_duration(self.within)
        if self.with_ and self.handover is None:
            raise ValueError("`with` passes slots to a `handover` step")
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


IncidentKindName = Literal["outage", "planned_maintenance"]


def _outages_only() -> list[IncidentKindName]:
    return ["outage"]


class DuringIncident(Strict):
    """What a procedure does while a declared incident that affects it applies to the customer (their record,
    or the place they said, is inside its scope): say why, then skip steps, jump, end or hand off. So the
    agent never walks someone through restarting a router during an outage in their town."""

    say: str | None = None  # a template or replies key, said first (the notice itself is told anyway)
    skip_steps: list[str] = Field(default_factory=list)  # labels of steps not run meanwhile
    goto: str | None = None  # jump here instead of starting at the first step
    end: Literal["resolved", "unresolved"] | None = None  # end the procedure right away
    resolution: str | None = None
    escalate: str | None = None  # hand off, with this reason
    tier: str | None = None
    # which incidents change it: outages (default), and/or planned maintenance during its window
    kinds: list[IncidentKindName] = Field(default_factory=_outages_only, min_length=1)

    @model_validator(mode="after")
    def _one_outcome(self) -> DuringIncident:
        outcomes = [name for name in ("goto", "end", "escalate") if getattr(self, name) is not None]
        if len(outcomes) > 1:
            raise ValueError(f"during_incident does one of goto, end or escalate; this has {', '.join(outcomes)}")
        if not outcomes and not self.skip_steps and self.say is None:
            raise ValueError("during_incident needs say, skip_steps, goto, end or escalate")
        return self


class Procedure(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="lower_case id, unique in the pack")
    title: str = Field(description="what the request is, in a few words (tickets, menus)")
    category: str = Field(default="general", description="the ticket's category")
    priority: Literal["low", "normal", "high", "urgent"] = Field(default="normal", description="the ticket's priority")
    requires_verification: bool = Field(default=False, description="verify the customer before any step")
    # identity assurance the whole procedure needs: 1 identified (email, name + ZIP), 2 strong (one-time code
    # to the contact on file, or a knowledge factor); default 1 when requires_verification is set
    requires_assurance: int | None = Field(
        default=None, ge=1, le=2, description="identity level the whole procedure needs (implies "
                    "requires_verification)")
    triggers: list[str] = Field(min_length=2, json_schema_extra=per_language_schema, description=(
        "phrasings that start it (train the intent model); or per language: {en: [...], es: [...]}"))
    slots: dict[str, SlotSpec] = Field(default_factory=dict, description="what it asks the customer, by name")
    products: list[str] = Field(default_factory=list, description=(
        "the catalogue products it is for, by name (empty: any); a message naming only other products of the "
        "catalogue does not start it: the app's error codes are no answer for a kettle that has no app"))
    steps: list[Step] = Field(min_length=1, description="run in order; `label`/`goto` jump")
    ticket: TicketSpec = Field(default_factory=TicketSpec, description="what the ticket gets")
    during_incident: DuringIncident | None = None  # what changes while an incident affecting it applies

    _triggers_by_language: dict[str, list[str]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _triggers_per_language(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        # `triggers: {en: [...], es: [...]}`: the intent model learns every phrasing, whatever its language
        by_language: dict[str, list[str]] = {}
        if isinstance(data, dict) and _per_language(data.get("triggers")):
            groups = data["triggers"]
            if all(isinstance(g, list) and all(isinstance(t, str) for t in g) for g in groups.values()):
                by_language = {str(k): list(g) for k, g in groups.items()}
                data = {**data, "triggers": [t for g in by_language.values() for t in g]}
        model = handler(data)
        if by_language and isinstance(model, Procedure):
            model._triggers_by_language = by_language
        return model

    @property
    def triggers_by_language(self) -> dict[str, list[str]]:
        """language -> phrasings, when the pack gave them per language (else empty: `triggers` is one list)."""
        return self._triggers_by_language

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
        if self.during_incident is not None:
            during = self.during_incident
            for target in [*during.skip_steps, *([during.goto] if during.goto else [])]:
                if target not in labels:
                    raise ValueError(f"during_incident names unknown label '{target}'")
            if step.handover == self.id:
                raise ValueError(f"step {index + 1} hands over to its own procedure")
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
