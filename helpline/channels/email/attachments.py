"""Attachments kept with the ticket: one folder per ticket, size and count limits, never executed.

Files are written under a name we make (a short hash, then the sender's name reduced to letters, digits,
dots, dashes and underscores), readable by the server's user only and never executable; nothing here
opens, previews or unpacks them. What was too large or one too many is listed as skipped, with why.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from helpline.channels.email.parsing import Attachment

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
FILE_MODE = 0o600
FOLDER_MODE = 0o700


@dataclass(frozen=True)
class KeptAttachment:
    name: str  # as the sender named it
    content_type: str
    size: int
    path: str = ""  # relative to the attachments folder; "" when skipped
    skipped: str = ""  # why it was not kept

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def safe_name(name: str) -> str:
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).lstrip("._")[:100]
    return base or "attachment"


@dataclass(frozen=True)
class AttachmentStore:
    folder: Path
    max_bytes: int = 10_000_000
    max_count: int = 10

    def keep(self, ticket_number: int, attachments: tuple[Attachment, ...]) -> list[KeptAttachment]:
        kept: list[KeptAttachment] = []
        target = self.folder / f"ticket-{ticket_number}"
        for index, attachment in enumerate(attachments):
            size = len(attachment.data)
            if index >= self.max_count:
                kept.append(KeptAttachment(attachment.filename, attachment.content_type, size,
                                           skipped=f"more than {self.max_count} attachments"))
                continue
            if size > self.max_bytes:
                kept.append(KeptAttachment(attachment.filename, attachment.content_type, size,
                                           skipped=f"larger than {self.max_bytes} bytes"))
                continue
            target.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
            digest = hashlib.sha256(attachment.data).hexdigest()[:12]
            path = target / f"{digest}-{safe_name(attachment.filename)}"
            # O_EXCL|O_NOFOLLOW: never write through a link someone left in the folder
            if not path.exists():
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
                with os.fdopen(descriptor, "wb") as file:
                    file.write(attachment.data)
            kept.append(KeptAttachment(attachment.filename, attachment.content_type, size,
                                       path=str(path.relative_to(self.folder))))
        return kept
