"""Settings and replies saved in the console reach every node: the saving node applies them and publishes
a ``PACK_CHANGED`` notice on the event bus (Redis across nodes); every other node reloads the pack's files
(nodes share the pack folder) and applies them the same way, without a restart."""

from __future__ import annotations

import logging
import uuid

from helpline.application.bus import PACK_CHANGED, ConversationChanged
from helpline.conversation.wording import DEFAULT_REPLIES
from helpline.pack.loader import BusinessPack, PackInvalid, load_pack
from helpline.runtime import Runtime

log = logging.getLogger(__name__)


def apply_pack(runtime: Runtime, validated: BusinessPack) -> None:
    """Put a validated pack's settings and replies into the running engine."""
    # The engine reads the business settings on every turn: the change applies at once.
    runtime.pack.business = validated.business
    runtime.pack.replies = validated.replies
    # In place, so every holder of the engine's wording (the email channel keeps it) speaks the new words.
    runtime.engine.wording.replies = {**DEFAULT_REPLIES, **validated.replies}


class PackFollower:
    """This node's side of the notice: tells the others after a save, reloads when another node saved."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.node = uuid.uuid4().hex  # so a node skips its own notice: it applied the change already
        runtime.conversations.bus.listen(PACK_CHANGED, self._changed)

    def announce(self) -> None:
        self.runtime.conversations.bus.publish(self.node, PACK_CHANGED)

    def _changed(self, event: ConversationChanged) -> None:
        if event.conversation_id == self.node:
            return
        try:
            validated = load_pack(self.runtime.pack.root)
        except PackInvalid as exc:  # checked before it was saved; a half-copied folder, say: keep what runs
            log.warning("pack changed on another node but does not load here (%s); keeping the running one", exc)
            return
        apply_pack(self.runtime, validated)
        log.info("pack settings and replies reloaded after a change on another node")


def announce_pack_changed(state: object) -> None:
    """After a save: tell the other nodes (``state`` is the app's ``app.state``, which mount_console gives a
    ``pack_follower``; an app without one runs alone)."""
    follower = getattr(state, "pack_follower", None)
    if isinstance(follower, PackFollower):
        follower.announce()
