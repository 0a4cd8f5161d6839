"""Knowledge-base articles: Markdown files with YAML front matter, split into passages.

A question is answered from one passage, so passages follow the article's own structure
(its ``##``/``###`` headings): a heading written by a person is the best summary of what the
text under it answers. Long sections are cut at paragraph boundaries so that every passage
stays within what the sentence-embedding model actually reads (~128 tokens ≈ 500-1,200 chars).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from helpline.pack.languages import language_suffix

AUDIENCES = ("customer", "internal")
MAX_PASSAGE_CHARS = 1200

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_KNOWN_KEYS = {"title", "tags", "audience"}


class ArticleError(ValueError):
    """An article that cannot be loaded; names the file and (1-based) line like a compiler would."""

    def __init__(self, path: Path | str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = str(path)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Article:
    id: str  # file stem; stable across edits so hits and tickets can refer to it
    title: str
    tags: tuple[str, ...]
    audience: str  # "customer" | "internal"
    body: str  # Markdown without the front matter
    path: str = ""
    # "" for the pack's own language; "es" for knowledge/<id>.es.md, the Spanish variant of <id>.md
    language: str = ""

    @property
    def base_id(self) -> str:
        """The article this is a variant of ("wifi" for "wifi.es"); its own id when it is no variant."""
        return language_suffix(self.id)[0]


@dataclass(frozen=True)
class Passage:
    article_id: str
    article_title: str
    section: str  # heading text; "" for the lead paragraph(s)
    text: str  # Markdown of the passage, heading line excluded
    audience: str
    tags: tuple[str, ...] = ()
    chunk: int = 0  # 0-based index when a long section was cut into several passages
    language: str = ""  # the article's ("" = the pack's own)

    @property
    def key(self) -> str:
        return f"{self.article_id}#{self.section}#{self.chunk}"


def parse_article(text: str, path: Path | str, article_id: str | None = None) -> Article:
    """Parse one article; ``path`` is used for the id (its stem) and in error messages."""
    path = Path(path)
    meta, body = _split_front_matter(text, path)
    audience = meta.get("audience", "customer")
    if audience not in AUDIENCES:
        raise ArticleError(path, _key_line(text, "audience"), f"audience must be one of {AUDIENCES}, got {audience!r}")
    tags_raw = meta.get("tags", [])
    if isinstance(tags_raw, str):
        tags_raw = [t.strip() for t in tags_raw.split(",") if t.strip()]
    if not isinstance(tags_raw, list) or not all(isinstance(t, str | int | float) for t in tags_raw):
        raise ArticleError(path, _key_line(text, "tags"), "tags must be a list of words")
    title = meta.get("title")
    if title is not None and (not isinstance(title, str) or not title.strip()):
        raise ArticleError(path, _key_line(text, "title"), "title must be a non-empty string")
    if title is None:
        title = _first_heading(body) or path.stem.replace("-", " ").replace("_", " ").capitalize()
    article_id = article_id or path.stem
    return Article(
        id=article_id,
        title=title.strip(),
        tags=tuple(str(t) for t in tags_raw),
        audience=audience,
        body=body,
        path=str(path),
        language=language_suffix(article_id)[1],
    )


def load_article(path: Path | str) -> Article:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ArticleError(path, 1, f"not UTF-8 text ({exc.reason})") from exc
    return parse_article(text, path)


def load_articles(directory: Path | str) -> list[Article]:
    """All ``*.md`` files of a pack's ``knowledge/`` folder, in file-name order."""
    return [load_article(p) for p in sorted(Path(directory).glob("*.md"))]


def split_passages(article: Article, max_chars: int = MAX_PASSAGE_CHARS) -> list[Passage]:
    passages: list[Passage] = []
    for section, text in _sections(article.body):
        for i, chunk in enumerate(_chunks(text, max_chars)):
            passages.append(
                Passage(
                    article_id=article.id,
                    article_title=article.title,
                    section=section,
                    text=chunk,
                    audience=article.audience,
                    tags=article.tags,
                    chunk=i,
                    language=article.language,
                )
            )
    return passages


# --- internals ---------------------------------------------------------------------------------


def _split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    text = text.lstrip("\ufeff")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        raise ArticleError(path, 1, "front matter opened with '---' is never closed")
    raw = "\n".join(lines[1:end])
    try:
        meta = yaml.safe_load(raw) if raw.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        # +2: the YAML starts on the line after the opening '---', and marks are 0-based.
        line = mark.line + 2 if mark is not None else 2
        problem = getattr(exc, "problem", None) or str(exc)
        raise ArticleError(path, line, f"invalid YAML front matter: {problem}") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ArticleError(path, 2, "front matter must be a mapping (title:, tags:, audience:)")
    unknown = sorted(set(map(str, meta)) - _KNOWN_KEYS)
    if unknown:
        raise ArticleError(path, _key_line(text, unknown[0]), f"unknown front matter key {unknown[0]!r}")
    return meta, "\n".join(lines[end + 1 :]).strip("\n")


def _key_line(text: str, key: str) -> int:
    for i, line in enumerate(text.split("\n"), start=1):
        if line.startswith(f"{key}:"):
            return i
    return 1


def _first_heading(body: str) -> str | None:
    for line in body.split("\n"):
        m = _HEADING.match(line)
        if m:
            return m.group(2)
    return None


def _sections(body: str) -> Iterable[tuple[str, str]]:
    """(heading, text) pairs; a top-level ``#`` heading is the article's title, not a section."""
    section = ""
    buf: list[str] = []
    in_fence = False
    for line in body.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _HEADING.match(line)
        if m and len(m.group(1)) == 1:
            continue
        if m and len(m.group(1)) in (2, 3):
            yield from _emit(section, buf)
            section, buf = m.group(2), []
            continue
        buf.append(line)
    yield from _emit(section, buf)


def _emit(section: str, buf: list[str]) -> Iterable[tuple[str, str]]:
    text = "\n".join(buf).strip()
    # A heading directly followed by a sub-heading has nothing of its own to answer with.
    if text:
        yield section, text


def _chunks(text: str, max_chars: int) -> list[str]:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    pieces: list[str] = []
    for p in paragraphs:
        pieces.extend(_split_long(p, max_chars) if len(p) > max_chars else [p])
    return _pack(pieces, max_chars, "\n\n")


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    return _pack(_SENTENCE_END.split(paragraph), max_chars, " ")


def _pack(pieces: Iterable[str], max_chars: int, joiner: str) -> list[str]:
    """Join consecutive pieces while they fit in `max_chars` (a piece longer than that stands alone)."""
    out: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + len(joiner) + len(piece) > max_chars:
            out.append(current)
            current = piece
        else:
            current = f"{current}{joiner}{piece}" if current else piece
    if current:
        out.append(current)
    return out
