"""Posting to team chats through incoming webhooks: Slack, Mattermost and Microsoft Teams.

Slack and Mattermost take the same payload (`{"text": …}`, Slack mrkdwn / Markdown). Microsoft Teams retired
Office 365 connectors' MessageCards in 2025; its Workflows webhook ("post to a channel when a webhook request is
received") takes a message with an Adaptive Card attachment. A webhook URL is a secret, so it comes from the
environment variable the pack names and is never logged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from helpline.pack.models import TeamChatKind, TeamWebhook

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeamPost:
    title: str
    text: str
    link: str | None = None  # where to answer or take over, in the console


class TeamChat(Protocol):
    """One team chat. Returns an error in words when the post was not taken (None when it was)."""

    name: str

    async def post(self, message: TeamPost) -> str | None: ...


def payload(kind: TeamChatKind, message: TeamPost) -> dict[str, Any]:
    if kind is TeamChatKind.TEAMS:
        body: list[dict[str, Any]] = [
            {"type": "TextBlock", "text": message.title, "weight": "Bolder", "wrap": True},
            {"type": "TextBlock", "text": message.text, "wrap": True},
        ]
        card: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                                "type": "AdaptiveCard", "version": "1.4", "body": body}
        if message.link:
            card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Helpline", "url": message.link}]
        return {"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}
    link = f"\n<{message.link}|Open in Helpline>" if kind is TeamChatKind.SLACK and message.link else (
        f"\n[Open in Helpline]({message.link})" if message.link else "")
    return {"text": f"*{message.title}*\n{message.text}{link}"}


@dataclass
class IncomingWebhook:
    kind: TeamChatKind
    url: str
    name: str = ""
    timeout_s: float = 10.0

    async def post(self, message: TeamPost) -> str | None:
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(self.url, json=payload(self.kind, message))
        except httpx.HTTPError as exc:
            return f"{self.name}: {type(exc).__name__}"
        if response.status_code >= 300:
            return f"{self.name}: HTTP {response.status_code} {response.text[:200]}"
        return None


def team_chats(webhooks: list[TeamWebhook], env: Mapping[str, str] | None = None) -> list[TeamChat]:
    """The pack's webhooks whose URL is set; a missing variable is logged once and skipped."""
    env = os.environ if env is None else env
    chats: list[TeamChat] = []
    for webhook in webhooks:
        url = env.get(webhook.url_env, "").strip()
        if not url.startswith(("https://", "http://")):
            log.warning("team webhook %s: %s is not set to a URL; not posting there", webhook.kind, webhook.url_env)
            continue
        chats.append(IncomingWebhook(webhook.kind, url, name=f"{webhook.kind} ({webhook.url_env})"))
    return chats
