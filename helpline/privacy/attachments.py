"""Email attachments on disk (``<attachments_folder>/ticket-<n>/``, channels/email/attachments.py): finding and
deleting a ticket's files when its contact is erased or expires.

Only regular files directly inside a ticket's folder are deleted, never through a symbolic link, and the folder
is removed once empty: nothing outside the attachments folder can be reached from a ticket number.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TICKET_FOLDER = "ticket-{number}"  # as AttachmentStore.keep names it


@dataclass(frozen=True)
class AttachmentFolder:
    folder: Path

    def files_of(self, ticket_numbers: Iterable[int]) -> list[Path]:
        """The attachment files kept for these tickets (regular files, not links)."""
        found: list[Path] = []
        for number in sorted(set(ticket_numbers)):
            target = self.folder / TICKET_FOLDER.format(number=int(number))
            if target.is_symlink() or not target.is_dir():
                continue
            found.extend(path for path in sorted(target.iterdir()) if path.is_file() and not path.is_symlink())
        return found

    @staticmethod
    def delete(files: Iterable[Path]) -> int:
        """Delete the files, then each folder left empty; returns how many files were deleted. An OSError
        other than "already gone" propagates (the caller's transaction is then not committed)."""
        deleted = 0
        folders: set[Path] = set()
        for path in files:
            try:
                path.unlink()
                deleted += 1
            except FileNotFoundError:
                pass
            folders.add(path.parent)
        for folder in folders:
            with contextlib.suppress(OSError):  # not empty (a file arrived meanwhile): kept
                folder.rmdir()
        return deleted
