"""Two calls bridged: audio and keypad presses relayed both ways (a warm transfer once the person is briefed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from helpline.channels.phone.phonecall import PhoneCall
from helpline.voice.frames import AudioIn, KeypadDigit

log = logging.getLogger(__name__)


async def relay_frame(frame: AudioIn | KeypadDigit, sink: PhoneCall, max_queue_seconds: float = 0.2) -> None:
    """Pass one frame of a bridged call to the other leg. Audio beyond `max_queue_seconds` of backlog is
    dropped, so a side whose clock runs fast cannot build up delay."""
    if isinstance(frame, AudioIn):
        if sink.queued_seconds() < max_queue_seconds:
            await sink.play(frame.pcm)
    else:
        sink.send_digits(frame.digit)


async def bridge(first: PhoneCall, second: PhoneCall, *, hang_up_both: bool = True,
                 max_queue_seconds: float = 0.2) -> PhoneCall:
    """Relay audio (and keypad presses) both ways until one side hangs up; returns the call that ended.

    Nobody else may read either call's `receive()` meanwhile. What a side said before the bridge (while the
    other was being briefed) is dropped, not replayed late. Audio is forwarded as it arrives; if a side's
    clock runs fast, its surplus beyond `max_queue_seconds` is dropped so delay cannot build up.
    """
    started = time.monotonic()

    async def relay(source: PhoneCall, sink: PhoneCall) -> None:
        async for frame in source.receive():
            if sink.ended:
                return
            if frame.received_at and frame.received_at < started:
                continue
            await relay_frame(frame, sink, max_queue_seconds)

    forward = asyncio.create_task(relay(first, second), name="bridge:forward")
    backward = asyncio.create_task(relay(second, first), name="bridge:backward")
    _, pending = await _first_done(forward, backward)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    ended = first if first.ended else second
    if hang_up_both:
        await first.hang_up()
        await second.hang_up()
    return ended


async def _first_done(*tasks: asyncio.Task[None]) -> tuple[set[asyncio.Task[None]], set[asyncio.Task[None]]]:
    try:
        return await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        raise
