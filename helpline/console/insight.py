"""Insight page for supervisors: recurring contact reasons with their trend and spikes ("declare an incident"),
knowledge gaps ("draft an article"), the KPIs headline; and the two prefilled forms those actions open."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from helpline.application.incident_desk import incidents
from helpline.console.auth import ConsoleDenied, Supervisor
from helpline.console.web import render, runtime_of
from helpline.conversation.ports import Embedder
from helpline.insight.clusters import VectorMemo
from helpline.insight.gaps import article_draft, knowledge_scorer
from helpline.insight.report import build_insight
from helpline.runtime import Runtime

PERIODS = (1, 7, 14, 28)
FIELD = 300  # characters kept of a prefilled title, label or question
QUESTIONS = 20


def _embedder(runtime: Runtime) -> Embedder:
    """The knowledge index's sentence model: the one already in memory, never a second copy."""
    embedder = runtime.knowledge.embedder
    if embedder is None:  # a knowledge index built without embeddings (BM25 only): load the model once here
        from helpline.understanding.embeddings import MiniLMEmbedder

        return MiniLMEmbedder()
    return embedder


def sparkline(values: list[int], width: int = 120, height: int = 24) -> str:
    """The points of a small trend line (an SVG polyline), one per day; drawn by the template."""
    if not values:
        return ""
    peak = max(max(values), 1)
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (height - 4) * v / peak:.1f}" for i, v in enumerate(values))


def insight_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)
    memo: list[VectorMemo] = []  # the lines embedded for earlier page loads (one runtime per app)

    def vectors(runtime: Runtime) -> VectorMemo:
        embedder = runtime.knowledge.embedder
        if not memo or (embedder is not None and memo[0].model is not embedder):
            memo[:] = [VectorMemo(_embedder(runtime))]
        return memo[0]

    @router.get("/insight")
    def insight(request: Request, user: Supervisor, days: int = 7) -> Response:
        if days not in PERIODS:
            raise ConsoleDenied(400, f"Choose a period of {', '.join(map(str, PERIODS))} days.")
        runtime = runtime_of(request)
        found = build_insight(runtime.db, runtime.pack, vectors(runtime), datetime.now(UTC), days=days,
                              actor=user.actor, scorer=knowledge_scorer(runtime.knowledge))
        return render(request, "insight.html", user, insight=found, days=days, periods=PERIODS,
                      sparkline=sparkline)

    @router.get("/insight/declare-incident")
    def declare_incident(request: Request, user: Supervisor, label: str = "") -> Response:
        """The incidents page with its form filled from a spiking reason; the form posts to /console/incidents."""
        runtime = runtime_of(request)
        items = incidents(runtime.db, limit=100)
        business = runtime.pack.business
        label = " ".join(label.split())[:FIELD]
        return render(request, "incidents.html", user, incidents=items, error="",
                      tags=sorted({t for a in runtime.knowledge.articles.values() for t in a.tags}),
                      form={"title": label[:200], "message": label}, timezone=business.timezone,
                      language=(business.languages or ["en"])[0])

    @router.get("/insight/draft-article")
    def draft_article(request: Request, user: Supervisor, title: str = "",
                      q: Annotated[list[str] | None, Query()] = None) -> Response:
        """The knowledge editor with a new article drafted from a gap: its title and the questions asked."""
        questions = [" ".join(text.split())[:FIELD] for text in (q or [])[:QUESTIONS] if text.strip()]
        title = " ".join(title.split())[:FIELD].rstrip("?") or "New article"
        return render(request, "article.html", user, article_id="", title=title, tags="", audience="customer",
                      body=article_draft(title, questions), error="")

    return router
