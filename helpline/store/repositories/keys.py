"""Credentials that are not people: API keys, widget keys and the widget's resume tokens."""

from __future__ import annotations

import builtins
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from helpline.store.models import (
    ApiKey,
    WidgetChat,
    WidgetKey,
    utcnow,
)
from helpline.store.repositories.base import (
    Conflict,
    NotFound,
    _now,
    _Repository,
    _sha256,
    _str_list,
)
from helpline.store.validation import (
    API_ROLES,
    check_choice,
)

# --- API keys ----------------------------------------------------------------------------------


API_KEY_PREFIX = "hl_"
API_KEY_PREFIX_LENGTH = 8


def hash_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


class ApiKeyRepository(_Repository):
    """API keys: the plaintext is shown once at creation; only its SHA-256 is kept."""

    def create(self, *, role: str, label: str = "", actor: str = "system") -> tuple[str, ApiKey]:
        check_choice("role", role, API_ROLES)
        plaintext = API_KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(prefix=plaintext[:API_KEY_PREFIX_LENGTH], key_hash=hash_api_key(plaintext), role=role,
                     label=label[:200], created_at=utcnow())
        self.session.add(key)
        self.session.flush()
        self.audit.record(actor, "create", "api_key", key.id, None, {"prefix": key.prefix, "role": role})
        return plaintext, key

    def verify(self, plaintext: str) -> ApiKey | None:
        """The live key matching ``plaintext``, or None. Hashes are compared in constant time."""
        if not plaintext.startswith(API_KEY_PREFIX) or len(plaintext) < API_KEY_PREFIX_LENGTH \
                or not plaintext.isascii() or not plaintext.isprintable():
            return None  # (a NUL would make PostgreSQL fail the query)
        wanted = hash_api_key(plaintext)
        candidates = self.session.scalars(
            select(ApiKey).where(ApiKey.prefix == plaintext[:API_KEY_PREFIX_LENGTH], ApiKey.revoked_at.is_(None))
        )
        match = None
        for key in candidates:
            if hmac.compare_digest(key.key_hash, wanted):
                match = key
        return match

    def get(self, key_id: str) -> ApiKey | None:
        return self.session.get(ApiKey, key_id)

    def list(self, *, include_revoked: bool = False) -> list[ApiKey]:
        query = select(ApiKey)
        if not include_revoked:
            query = query.where(ApiKey.revoked_at.is_(None))
        return list(self.session.scalars(query.order_by(ApiKey.created_at, ApiKey.id)))

    def revoke(self, key_id_or_prefix: str, *, actor: str, now: datetime | None = None) -> ApiKey:
        """Revoke by id or by the prefix shown in lists (which must then be unambiguous)."""
        key = self.session.get(ApiKey, key_id_or_prefix)
        if key is None:
            matches = list(self.session.scalars(select(ApiKey).where(ApiKey.prefix == key_id_or_prefix)))
            if len(matches) > 1:
                raise Conflict(f"prefix {key_id_or_prefix} matches several keys; revoke by id")
            key = matches[0] if matches else None
        if key is None:
            raise NotFound(f"API key {key_id_or_prefix} not found")
        if key.revoked_at is None:
            key.revoked_at = _now(now)
            self.session.flush()
            self.audit.record(actor, "update", "api_key", key.id, None, {"revoked": True, "prefix": key.prefix})
        return key


# --- chat widget -------------------------------------------------------------------------------


WIDGET_KEY_PREFIX = "hlw_"


class WidgetKeyRepository(_Repository):
    """Public per-site widget keys (they sit in the page's HTML, so they grant almost nothing)."""

    def create(self, *, label: str = "", allowed_origins: Sequence[str] = (), actor: str = "system") -> WidgetKey:
        origins = [o.strip().rstrip("/") for o in _str_list("allowed_origins", allowed_origins) if o.strip()]
        key = WidgetKey(public_key=WIDGET_KEY_PREFIX + secrets.token_urlsafe(18), label=label[:200],
                        allowed_origins=origins, created_at=utcnow())
        self.session.add(key)
        self.session.flush()
        self.audit.record(actor, "create", "widget_key", key.id, None, {"label": label, "origins": origins})
        return key

    def verify(self, public_key: str, origin: str | None) -> WidgetKey | None:
        """The live key, if the page's Origin is one it allows (an empty list allows any)."""
        key = self.session.scalars(
            select(WidgetKey).where(WidgetKey.public_key == public_key, WidgetKey.revoked_at.is_(None))
        ).first()
        if key is None:
            return None
        if key.allowed_origins and (origin or "").rstrip("/") not in key.allowed_origins:
            return None
        return key

    def list(self) -> builtins.list[WidgetKey]:
        return list(self.session.scalars(select(WidgetKey).order_by(WidgetKey.created_at)))


class WidgetChatRepository(_Repository):
    """Which browser owns which widget conversation: a random resume token, stored as its SHA-256."""

    def create(self, conversation_id: str, widget_key_id: str) -> str:
        token = secrets.token_urlsafe(24)
        self.session.add(WidgetChat(conversation_id=conversation_id, widget_key_id=widget_key_id,
                                    token_hash=_sha256(token), created_at=utcnow()))
        self.session.flush()
        return token

    def owns(self, conversation_id: str, token: str, widget_key_id: str) -> bool:
        chat = self.session.get(WidgetChat, conversation_id)
        return (chat is not None and chat.widget_key_id == widget_key_id
                and hmac.compare_digest(chat.token_hash, _sha256(token)))
