"""``DELETE /customers/{customer_ref}``: erase a customer's personal data (admin only; docs/security.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from helpline.api.auth import Db
from helpline.api.errors import AUTHENTICATED_ERRORS, ApiError, error_responses
from helpline.api.records import Admin
from helpline.api.validation import known_query_only
from helpline.privacy.attachments import AttachmentFolder
from helpline.privacy.erasure import CustomerErasure, ErasureReport, NothingHeld
from helpline.privacy.recordings import RecordingStore

# The business's id, Helpline's customer id, an email address or a phone number: printable text only.
CustomerRef = Annotated[str, PathParam(
    min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$",
    description="The business's customer id (e.g. C-1038), Helpline's customer id, an email address or a "
                "phone number in international form", examples=["C-1038"])]


class ErasedOut(BaseModel):
    conversations: int = Field(examples=[3])
    messages: int = Field(examples=[41])
    tickets: int
    handoffs: int
    callbacks: int
    recordings: int = Field(description="Audio files deleted")
    audit_entries: int = Field(description="Audit entries whose quoted values were erased (the entries stay)")
    customers: int
    identities: int
    email_messages: int = Field(description="Emails of the thread whose address, subject and Message-ID were erased")
    attachments: int = Field(description="Email attachment files deleted")
    sms_threads: int
    sms_deliveries: int = Field(description="Texts sent whose number was erased")
    outbound_messages: int = Field(description="Recaps, surveys, notices and reminders erased (unsent ones cancelled)")
    team_questions: int
    opt_outs: int = Field(description="Opt-outs kept, now under a hash of the address instead of the address")


class ErasureOut(BaseModel):
    customer: str = Field(description="SHA-256 the erasure is recorded under in the audit log (not the id)")
    dry_run: bool
    complete: bool = Field(description="False while some of the customer's conversations are still open: "
                                       "those are left alone; erase again once they have ended")
    open_conversations: int
    matched_by: list[str] = Field(examples=[["external_id"]])
    erased: ErasedOut

    @classmethod
    def of(cls, report: ErasureReport) -> ErasureOut:
        return cls(customer=report.subject, dry_run=report.dry_run, complete=report.complete,
                   open_conversations=report.open_conversations, matched_by=list(report.matched_by),
                   erased=ErasedOut(**report.erased.as_dict()))


def erasure_service(request: Request, db: Db) -> CustomerErasure:
    """The erasure service over the app's database and, when a pack is loaded, its recordings folder."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return CustomerErasure(db)
    business = runtime.pack.business
    return CustomerErasure(db, recordings=RecordingStore(Path(business.call_recording.folder)),
                           attachments=AttachmentFolder(Path(business.email.attachments_folder)),
                           clock=runtime.conversations.clock, region=business.phone_region)


Erasure = Annotated[CustomerErasure, Depends(erasure_service)]


def customers_router() -> APIRouter:
    router = APIRouter(tags=["customers"], responses=error_responses(*AUTHENTICATED_ERRORS, 404),
                       dependencies=[Depends(known_query_only)])

    @router.delete("/customers/{customer_ref}", response_model=ErasureOut,
                   summary="Erase a customer's personal data (GDPR art. 17; admin)",
                   description="Anonymises the customer's transcripts, saved conversation state, tickets, "
                               "hand-offs and callbacks, deletes their call recordings and empties their "
                               "customer record; keeps the figures the KPIs need. One audit entry records the "
                               "erasure under a hash of the id. Idempotent: 404 once nothing is held.")
    def erase_customer(customer_ref: CustomerRef, caller: Admin, erasure: Erasure,
                       dry_run: bool = Query(default=False, description="Count what would be erased; change "
                                                                        "nothing")) -> ErasureOut:
        try:
            report = erasure.erase(customer_ref, actor=caller.actor, dry_run=dry_run)
        except NothingHeld as exc:
            when = f" (erased {exc.erased_at.isoformat()})" if exc.erased_at else ""
            raise ApiError(404, "not_found", f"no personal data is held for this customer{when}") from exc
        return ErasureOut.of(report)

    return router
