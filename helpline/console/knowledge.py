"""Knowledge base: edit Markdown articles in the pack (re-indexed at once), preview answers, see gaps."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import yaml
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from helpline.application import audit
from helpline.application.knowledge_desk import Gap
from helpline.application.knowledge_desk import knowledge_gaps as unanswered
from helpline.console.auth import Agent, ConsoleDenied, Supervisor
from helpline.console.web import back, render, runtime_of
from helpline.conversation.engine import TurnContext
from helpline.conversation.state import ConversationState
from helpline.knowledge.articles import ArticleError, parse_article
from helpline.runtime import Runtime

ARTICLE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80] or "article"


def article_text(title: str, tags: list[str], audience: str, body: str) -> str:
    front = yaml.safe_dump({"title": title, "tags": tags, "audience": audience}, sort_keys=False,
                           allow_unicode=True).strip()
    return f"---\n{front}\n---\n{body.strip()}\n"


def knowledge_gaps(runtime: Runtime, actor: str, limit: int = 100) -> list[Gap]:
    """Customer questions the agent could not answer, most asked first (application/knowledge_desk.py)."""
    return unanswered(runtime.db, actor, limit)


def preview(runtime: Runtime, question: str) -> list[str]:
    """What the agent would say to this as the first message of a new chat (nothing is stored)."""
    state = ConversationState()
    result = runtime.engine.handle(state, question, TurnContext(now=datetime.now(UTC), channel="chat"))
    return result.replies


def knowledge_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/knowledge")
    def knowledge(request: Request, user: Agent, q: str = "") -> Response:
        runtime = runtime_of(request)
        articles = sorted(runtime.knowledge.articles.values(), key=lambda a: a.title.lower())
        replies, hits = [], []
        if q.strip():
            replies = preview(runtime, q.strip()[:2000])
            hits = runtime.knowledge.search(q.strip()[:2000], k=3)
        return render(request, "knowledge.html", user, articles=articles, q=q, replies=replies, hits=hits,
                      gaps=knowledge_gaps(runtime, user.actor))

    @router.get("/knowledge/new")
    def new_article(request: Request, user: Supervisor, title: str = "") -> Response:
        return render(request, "article.html", user, article_id="", title=title, tags="", audience="customer",
                      body="", error="")

    @router.get("/knowledge/{article_id}")
    def edit_article(request: Request, article_id: str, user: Supervisor) -> Response:
        article = runtime_of(request).knowledge.articles.get(article_id)
        if article is None:
            raise ConsoleDenied(404, "No such article.")
        return render(request, "article.html", user, article_id=article.id, title=article.title,
                      tags=", ".join(article.tags), audience=article.audience, body=article.body, error="")

    @router.post("/knowledge")
    def save_article(request: Request, user: Supervisor, title: Annotated[str, Form()], body: Annotated[str, Form()],
                     tags: Annotated[str, Form()] = "", audience: Annotated[str, Form()] = "customer",
                     article_id: Annotated[str, Form()] = "") -> Response:
        runtime = runtime_of(request)
        article_id = article_id or slugify(title)
        tag_list = [t.strip() for t in tags.split(",") if t.strip()]

        def again(error: str) -> Response:
            return render(request, "article.html", user, article_id=article_id, title=title, tags=tags,
                          audience=audience, body=body, error=error, status=400)

        if not ARTICLE_ID.match(article_id):
            return again("The article id may use lower-case letters, digits and dashes only.")
        if not title.strip() or not body.strip():
            return again("An article needs a title and some text.")
        path: Path = runtime.pack.knowledge_dir / f"{article_id}.md"
        text = article_text(title.strip(), tag_list, audience, body)
        try:
            article = parse_article(text, path)
        except ArticleError as exc:
            return again(str(exc))
        # Write a temporary file and rename it, so the pack never holds half an article.
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        runtime.knowledge.add_or_update(article)
        audit.record(runtime.db, user.actor, "update", "knowledge_article", article.id, None, {"title": article.title})
        return back("/console/knowledge", f"Saved “{article.title}”; the agent uses it now.")

    return router
