"""`helpline pack new`: a small pack that validates and passes its own example conversation, from a few
answers (asked with Rich prompts, or the defaults) — the starting point a business edits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from rich.console import Console
from rich.prompt import Confirm, Prompt

from helpline.pack.models import DAYS

VERIFICATION_CHOICES = {"email": [["email"]], "name+postcode": [["person_name", "postcode"]],
                        "both": [["email"], ["person_name", "postcode"]]}
SAMPLE_CUSTOMERS = (
    "id,first_name,last_name,name,email,postcode,phone\n"
    "C-1001,Alex,Morgan,Alex Morgan,alex.morgan@example.com,90210,+1 512 555 0101\n"
    "C-1002,Sam,Lee,Sam Lee,sam.lee@example.com,73301,+1 512 555 0102\n"
)
SAMPLE_EMAIL = "alex.morgan@example.com"
_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")


@dataclass
class Answers:
    name: str = "Example Services"
    timezone: str = "Europe/London"
    days: list[str] = field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    hours: str = "09:00-17:00"
    teams: list[str] = field(default_factory=lambda: ["support", "billing"])
    verification: str = "email"
    procedure_title: str = "Report a problem"
    triggers: list[str] = field(default_factory=lambda: [
        "I want to report a problem", "something is not working", "I have an issue with my service"])

    @property
    def procedure_id(self) -> str:
        return re.sub(r"[^a-z0-9]+", "_", self.procedure_title.lower()).strip("_") or "first_request"


def default_answers() -> Answers:
    return Answers()


def _days(text: str) -> list[str]:
    """"mon-fri", "mon,wed,sat" or "mon-fri,sat" -> the days."""
    days: list[str] = []
    for part in (p.strip().lower()[:3] if "-" not in p else p.strip().lower() for p in text.split(",")):
        if "-" in part:
            first, _, last = (d.strip()[:3] for d in part.partition("-"))
            if first in DAYS and last in DAYS:
                days += DAYS[DAYS.index(first): DAYS.index(last) + 1]
        elif part in DAYS:
            days.append(part)
    return [d for d in DAYS if d in days]


def _list(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;,]", text) if part.strip()]


def ask_answers(console: Console) -> Answers:
    """Ask for each answer, re-asking until it is usable."""
    answers = Answers()
    console.print("[bold]A new business pack[/bold] — Enter keeps the suggestion in brackets.")
    answers.name = Prompt.ask("Business name", default=answers.name, console=console)
    while True:
        answers.timezone = Prompt.ask("Timezone (e.g. Europe/London, America/Chicago)", default=answers.timezone,
                                      console=console)
        try:
            ZoneInfo(answers.timezone)
            break
        except (ZoneInfoNotFoundError, ValueError):
            console.print(f"[red]'{answers.timezone}' is not a timezone name[/red]")
    while not (days := _days(Prompt.ask("Open on which days (e.g. mon-fri, sat)", default="mon-fri",
                                        console=console))):
        console.print("[red]Name days as mon, tue, ... or a range like mon-fri[/red]")
    answers.days = days
    while not _HOURS.match(hours := Prompt.ask("Opening hours", default=answers.hours, console=console)):
        console.print("[red]Write the hours like 09:00-17:00[/red]")
    answers.hours = hours
    teams = _list(Prompt.ask("Teams a conversation can be handed to (comma-separated)",
                             default=", ".join(answers.teams), console=console))
    answers.teams = [re.sub(r"[^a-z0-9]+", "_", t.lower()).strip("_") for t in teams] or answers.teams
    answers.verification = Prompt.ask("How customers prove who they are", choices=list(VERIFICATION_CHOICES),
                                      default=answers.verification, console=console)
    answers.procedure_title = Prompt.ask("A first request customers make", default=answers.procedure_title,
                                         console=console)
    while len(triggers := _list(Prompt.ask("Ways a customer says it (two or more, separated by ';')",
                                           default="; ".join(answers.triggers), console=console))) < 2:
        console.print("[red]Give at least two phrasings[/red]")
    answers.triggers = triggers
    if not Confirm.ask(f"Write the pack for {answers.name}?", default=True, console=console):
        raise SystemExit(1)
    return answers


def _dump(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def pack_files(answers: Answers) -> dict[str, str]:
    """The pack's files by path."""
    methods = VERIFICATION_CHOICES[answers.verification]
    fields = sorted({f for method in methods for f in method})
    business = {
        "name": answers.name,
        "timezone": answers.timezone,
        "languages": ["en"],
        "opening_hours": {day: answers.hours for day in answers.days},
        "holidays": [],
        "persona": {"name": "Robin", "tone": "warm"},
        "escalation": {"tiers": [{"name": team, "description": team.replace("_", " ").capitalize()}
                                 for team in answers.teams], "default_tier": answers.teams[0]},
        "callback_sla": "4h",
        "verification": {"lookup_operation": "find_customer", "methods": [{"fields": m} for m in methods],
                         "max_attempts": 3},
    }
    conditions = {"email": "lower(email) = lower(trim(CAST(:email AS TEXT)))",
                  "person_name": "lower(name) = lower(trim(CAST(:person_name AS TEXT)))",
                  "postcode": "CAST(postcode AS TEXT) = trim(CAST(:postcode AS TEXT))"}
    where = " OR ".join(f"({' AND '.join(conditions[f] for f in method)})" for method in methods)
    operations = {
        "tables": {"customers": {"columns": {"id": {"type": "text", "key": True}, **{
            column: "text" for column in SAMPLE_CUSTOMERS.splitlines()[0].split(",")[1:]}},
            "seed": "data/customers.csv"}},
        "operations": {
            "find_customer": {"description": "Verification lookup.",
                              "sql": f"SELECT * FROM customers WHERE {where} LIMIT 1", "returns": "one",
                              "params": {f: f for f in fields}, "optional": fields},
        },
    }
    procedure = {
        "id": answers.procedure_id,
        "title": answers.procedure_title,
        "category": "general",
        "requires_verification": True,
        "triggers": answers.triggers,
        "slots": {"details": {"type": "text", "prompt": "Could you tell me what happened, in a sentence or two?"}},
        "steps": [
            {"ask": "details"},
            {"say": "Thank you {{ customer.first_name }}, I've noted it: \"{{ slots.details }}\". Our "
                    f"{answers.teams[0].replace('_', ' ')} team will look at it and get back to you."},
            {"end": "resolved", "resolution": "Noted: {{ slots.details }}"},
        ],
        "ticket": {"tags": [answers.procedure_id]},
    }
    identity = f"my email is {SAMPLE_EMAIL}" if "email" in fields else "Alex Morgan, 90210"
    test = {
        "name": f"{answers.procedure_title} (written by helpline pack new)",
        "now": "2026-11-20T12:00:00+00:00",
        "turns": [
            {"customer": answers.triggers[0], "expect": {"starts": answers.procedure_id, "says": ["verify"]}},
            {"customer": identity, "expect": {"verified": True, "says": ["what happened"]}},
            {"customer": "The app shows an error when I log in", "expect": {"says": ["noted"]}},
        ],
        "outcome": "resolved",
    }
    article = (f"---\ntitle: Opening hours\ntags: [hours, contact]\naudience: customer\n---\n"
               f"{answers.name} is open {', '.join(answers.days)} {answers.hours} ({answers.timezone}).\n\n"
               "## When can I reach a person?\n\nDuring our opening hours; outside them we call you back.\n")
    return {
        "business.yaml": _dump(business),
        "operations.yaml": _dump(operations),
        "data/customers.csv": SAMPLE_CUSTOMERS,
        f"procedures/{answers.procedure_id}.yaml": _dump(procedure),
        "knowledge/opening-hours.md": article,
        "templates/replies.yaml": _dump({"greeting": "Hi, you're through to {{ business.name }}. I'm "
                                                     "{{ persona.name }}. How can I help?"}),
        f"tests/{answers.procedure_id}.yaml": _dump(test),
    }


def write_pack(directory: Path, answers: Answers) -> list[Path]:
    written = []
    for relative, text in pack_files(answers).items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
