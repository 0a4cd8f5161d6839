"""The pack's texts given per language: checked against `business.languages`, and turned into wording.

A procedure may give its triggers, prompts, step lines and choice labels per language
(`prompt: {en: "What's your postcode?", es: "¿Cuál es su código postal?"}`). The models keep one text
per field (see `Localised`); here the pack's default language (the first of `business.languages`)
becomes that text, and every other language's text is filed under it, as the wording of that text in
that language. So the engine keeps saying "the slot's prompt" and the wording layer says it in the
conversation's language, as it does for the replies of `templates/replies.<lang>.yaml`.

A choice option's labels in other languages also become its synonyms: "por correo" matches the option
labelled "By post".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from helpline.pack.expressions import ExpressionError, parse_template
from helpline.pack.models import LANGUAGE_CODE, Localised, Procedure

Location = tuple[int | str, ...]


@dataclass(frozen=True)
class LanguageIssue:
    loc: Location  # inside the procedure file
    message: str


@dataclass
class PackTexts:
    """language -> default-language text -> [the text in that language] (the shape of replies_by_language)."""

    by_language: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def add(self, language: str, default_text: str, text: str) -> None:
        self.by_language.setdefault(language, {})[default_text] = [text]


def _localised_parts(proc: Procedure) -> Iterator[tuple[Location, Localised]]:
    for name, slot in proc.slots.items():
        yield ("slots", name), slot
        for index, option in enumerate(slot.options):
            yield ("slots", name, "options", index), option
    for index, step in enumerate(proc.steps):
        yield ("steps", index), step


def _language_issues(given: Sequence[str], languages: Sequence[str], loc: Location) -> list[LanguageIssue]:
    issues = [LanguageIssue((*loc, code), f"language '{code}' is not one of business.yaml's languages "
                                          f"({', '.join(languages)})")
              for code in given if code not in languages]
    default = languages[0]
    if default not in given:
        issues.append(LanguageIssue(loc, f"give the {default} wording too: {default} is the pack's first language, "
                                         "said to everyone else"))
    return issues


def localise(procedures: Sequence[Procedure],
             languages: Sequence[str]) -> tuple[PackTexts, dict[str, list[LanguageIssue]]]:
    """Settle each per-language text on the default language's, and collect the others (by procedure id:
    the issues found). Applied to the models in place (once, at load)."""
    languages = list(languages) or ["en"]
    default = languages[0]
    texts = PackTexts()
    issues: dict[str, list[LanguageIssue]] = {}
    for proc in procedures:
        found: list[LanguageIssue] = []
        if proc.triggers_by_language:
            found += _language_issues(list(proc.triggers_by_language), languages, ("triggers",))
        for loc, part in _localised_parts(proc):
            for name, by_language in part.translations.items():
                found += _language_issues(list(by_language), languages, (*loc, name))
                default_text = by_language.get(default)
                if default_text is None:
                    continue
                setattr(part, name, default_text)
                for language, text in by_language.items():
                    try:
                        parse_template(text)
                    except ExpressionError as exc:
                        found.append(LanguageIssue((*loc, name, language), f"{name} ({language}): {exc}"))
                        continue
                    if language != default and language in languages and text != default_text:
                        texts.add(language, default_text, text)
                if name == "label" and hasattr(part, "synonyms"):
                    others = [t for lang, t in by_language.items() if lang != default and t not in part.synonyms]
                    part.synonyms.extend(others)
        if found:
            issues[proc.id] = found
    return texts, issues


def merge_wording(replies_by_language: dict[str, dict[str, list[str]]],
                  texts: PackTexts) -> dict[str, dict[str, list[str]]]:
    """The replies files over the procedures' texts (a replies file names keys, never whole sentences)."""
    merged = {lang: dict(own) for lang, own in texts.by_language.items()}
    for lang, own in replies_by_language.items():
        merged.setdefault(lang, {}).update(own)
    return merged


# --- files named <name>.<lang>.<ext>: knowledge articles and message templates ------------------------------


def language_suffix(stem: str) -> tuple[str, str]:
    """"wifi.es" -> ("wifi", "es"); "wifi" -> ("wifi", ""). Only a language-code-looking suffix counts."""
    base, dot, suffix = stem.rpartition(".")
    if dot and base and LANGUAGE_CODE.match(suffix):
        return base, suffix
    return stem, ""


def variant_issues(paths: Sequence[Path], languages: Sequence[str]) -> list[tuple[Path, str]]:
    """A file named for a language the pack does not speak, or for its default (which the plain name is)."""
    languages = list(languages) or ["en"]
    found: list[tuple[Path, str]] = []
    for path in paths:
        base, language = language_suffix(path.stem)
        if not language:
            continue
        if language == languages[0]:
            found.append((path, f"'{language}' is the pack's first language: name this file "
                                f"{base}{path.suffix} (the plain name is that language's)"))
        elif language not in languages:
            found.append((path, f"'{language}' is not one of business.yaml's languages ({', '.join(languages)}); "
                                "add it there, or rename the file"))
    return found
