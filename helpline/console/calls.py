"""Phone calls from the console (issue 14): take a call over on your own phone, listen in, whisper, barge in.

The phone line (helpline.channels.phone.supervision.PhoneDesk) is reached through the `PhoneDesk` port below,
set on the app as `app.state.phone_desk` by whoever runs the SIP line in this process; the console imports no
channel. What each button means for the audio is written down in that module. Hand back is the conversation
page's usual button: the phone line sees the hand-back and takes the person's phone out of the call.

Everyone may set their own softphone here; ringing it into a call needs the supervisor role, like a take-over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from helpline.application import console_access
from helpline.application.live_view import conversation_exists
from helpline.console.auth import Agent, ConsoleDenied, StaffUser, Supervisor
from helpline.console.web import back, runtime_of

MODES = {"listen": "Listening in: your phone is ringing.",
         "whisper": "Whispering: only the staff side hears you.",
         "barge": "Barging in: the caller hears you."}


class PhoneCallState(Protocol):
    """What the phone line says about one live call."""

    @property
    def person(self) -> str: ...  # email of whoever took the call on their phone

    @property
    def monitor(self) -> str: ...  # email of the supervisor listening in

    @property
    def mode(self) -> str: ...  # listen | whisper | barge

    @property
    def ringing(self) -> str: ...  # email of someone whose phone rings for this call


class PhoneDesk(Protocol):
    """The live phone calls of this server, by conversation. Refusals are ValueErrors with a plain message."""

    def state(self, conversation_id: str) -> PhoneCallState | None: ...

    def take_over(self, conversation_id: str, uri: str, by: str, name: str, actor: str) -> None: ...

    def monitor(self, conversation_id: str, uri: str, by: str, name: str, actor: str, mode: str) -> None: ...

    async def stop_monitoring(self, conversation_id: str) -> None: ...


@dataclass(frozen=True)
class PhonePanel:
    """The conversation page's phone box."""

    state: PhoneCallState
    softphone: str  # the signed-in person's own phone ("" when not set)


def phone_desk(request: Request) -> PhoneDesk | None:
    desk: PhoneDesk | None = getattr(request.app.state, "phone_desk", None)
    return desk


def softphone_of(request: Request, user: StaffUser) -> str:
    return console_access.softphone_of(runtime_of(request).db, user.id)


def phone_panel(request: Request, conversation_id: str, user: StaffUser) -> PhonePanel | None:
    """The phone box for a conversation that is a live phone call on this server (else None)."""
    desk = phone_desk(request)
    state = desk.state(conversation_id) if desk is not None else None
    if state is None:
        return None
    return PhonePanel(state, softphone_of(request, user))


def calls_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    def page(conversation_id: str) -> str:
        return f"/console/conversations/{conversation_id}"

    async def live_call(request: Request, conversation_id: str, user: StaffUser) -> tuple[PhoneDesk, str]:
        """The desk holding the call and the person's softphone, or a redirect saying why not."""
        if not await run_in_threadpool(conversation_exists, runtime_of(request).db, conversation_id):
            raise ConsoleDenied(404, "No such conversation.")
        desk = phone_desk(request)
        if desk is None or desk.state(conversation_id) is None:
            raise ConsoleDenied(303, "", back(page(conversation_id), "This conversation is not a live phone call "
                                                                     "on this server.").headers["location"])
        softphone = await run_in_threadpool(softphone_of, request, user)
        if not softphone:
            raise ConsoleDenied(303, "", back(page(conversation_id), "Set your softphone first (the box under "
                                                                     "'On the phone').").headers["location"])
        return desk, softphone

    @router.post("/conversations/{conversation_id}/phone/takeover")
    async def take_over_on_phone(request: Request, conversation_id: str, user: Supervisor) -> Response:
        desk, softphone = await live_call(request, conversation_id, user)
        try:
            desk.take_over(conversation_id, softphone, user.email, user.name, user.actor)
        except ValueError as exc:
            return back(page(conversation_id), str(exc))
        return back(page(conversation_id), f"Ringing {softphone}: answer it to talk to the caller.")

    @router.post("/conversations/{conversation_id}/phone/monitor")
    async def monitor(request: Request, conversation_id: str, user: Supervisor,
                      mode: Annotated[str, Form()] = "listen") -> Response:
        if mode not in MODES:
            return back(page(conversation_id), "Choose listen, whisper or barge in.")
        desk, softphone = await live_call(request, conversation_id, user)
        try:
            desk.monitor(conversation_id, softphone, user.email, user.name, user.actor, mode)
        except ValueError as exc:
            return back(page(conversation_id), str(exc))
        return back(page(conversation_id), MODES[mode])

    @router.post("/conversations/{conversation_id}/phone/stop")
    async def stop_monitoring(request: Request, conversation_id: str, user: Supervisor) -> Response:
        desk = phone_desk(request)
        state = desk.state(conversation_id) if desk is not None else None
        if desk is None or state is None:
            return back(page(conversation_id), "This conversation is not a live phone call on this server.")
        if state.monitor and state.monitor != user.email and not user.can("admin"):
            return back(page(conversation_id), "Someone else is listening to this call.")
        await desk.stop_monitoring(conversation_id)
        return back(page(conversation_id), "You left the call.")

    @router.post("/me/softphone")
    def set_softphone(request: Request, user: Agent, address: Annotated[str, Form()] = "",
                      next_page: Annotated[str, Form(alias="next")] = "/console/live") -> Response:
        target = next_page if next_page.startswith("/console/") and "//" not in next_page else "/console/live"
        try:
            console_access.set_softphone(runtime_of(request).db, user.id, address, user.actor)
        except console_access.NotFound as exc:
            raise ConsoleDenied(401, "Please sign in.") from exc
        except ValueError as exc:
            message = str(exc)
            return back(target, message[:1].upper() + message[1:] + ".")
        return back(target, f"Your softphone is {address.strip()}." if address.strip() else
                    "Your softphone is forgotten.")

    return router
