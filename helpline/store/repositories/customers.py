"""Customers and the identities (email, phone, account ids) that find them."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from helpline.store.models import (
    Customer,
    CustomerIdentity,
)
from helpline.store.repositories.base import (
    Conflict,
    NotFound,
    _Repository,
)
from helpline.store.validation import (
    IDENTITY_KINDS,
    check_choice,
    normalise_email,
    normalise_phone,
)

log = logging.getLogger(__name__)




class CustomerRepository(_Repository):
    """Customers and the identities (email, phone, chat handle, business id) that find them on any channel."""

    def get(self, customer_id: str, *, actor: str) -> Customer | None:
        customer = self.session.get(Customer, customer_id)
        if customer is not None:
            self.audit.record(actor, "read", "customer", customer.id, customer.id)
        return customer

    def find_by_identity(self, kind: str, value: str, *, actor: str, region: str | None = None) -> Customer | None:
        """Find the customer with this email, phone (E.164, or national with ``region``), chat or business id."""
        normalised = self._normalise_identity(kind, value, region)
        customer = self.session.scalars(
            select(Customer)
            .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
            .where(CustomerIdentity.kind == kind, CustomerIdentity.value == normalised)
        ).first()
        if customer is not None:
            self.audit.record(actor, "read", "customer", customer.id, customer.id, {"found_by": kind})
        return customer

    def identities(self, customer_id: str) -> list[CustomerIdentity]:
        """The customer's identities (call after an audited ``get``)."""
        query = select(CustomerIdentity).where(CustomerIdentity.customer_id == customer_id)
        return list(self.session.scalars(query.order_by(CustomerIdentity.kind, CustomerIdentity.value)))

    def link_identity(
        self, customer_id: str, kind: str, value: str, *, actor: str, region: str | None = None
    ) -> CustomerIdentity:
        """Attach an identity; raises Conflict if it already belongs to another customer."""
        normalised = self._normalise_identity(kind, value, region)
        existing = self.session.scalars(
            select(CustomerIdentity).where(CustomerIdentity.kind == kind, CustomerIdentity.value == normalised)
        ).first()
        if existing is not None:
            if existing.customer_id != customer_id:
                raise Conflict(f"{kind} identity already belongs to another customer")
            return existing
        if self.session.get(Customer, customer_id) is None:
            raise NotFound(f"customer {customer_id} not found")
        identity = CustomerIdentity(customer_id=customer_id, kind=kind, value=normalised)
        self.session.add(identity)
        self.session.flush()
        self.audit.record(actor, "create", "customer_identity", identity.id, customer_id, {"kind": kind})
        return identity

    def upsert_from_record(
        self,
        *,
        actor: str,
        external_id: str,
        name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        region: str | None = None,
    ) -> Customer:
        """Create or refresh the customer mirrored from the business's system of record.

        Matched by business id, then by email, then by phone, and every identity is linked. A malformed
        email or phone in the business's data is skipped with a warning rather than refusing the
        customer: the record was already verified and the conversation must go on.
        """
        if not external_id:
            raise ValueError("upsert_from_record needs the business's customer id")
        clean_email = self._lenient(normalise_email, email, "email")
        clean_phone = self._lenient(lambda text: normalise_phone(text, region), phone, "phone")

        customer = self.session.scalars(select(Customer).where(Customer.external_id == external_id)).first()
        for kind, value in (("email", clean_email), ("phone", clean_phone)):
            if customer is None and value:
                customer = self._owner(kind, value)
                if customer is not None and customer.external_id not in (None, external_id):
                    customer = None  # that identity belongs to a different business customer
        created = customer is None
        if customer is None:
            customer = Customer(external_id=external_id)
            self.session.add(customer)
        changed = [
            field
            for field, value in (("external_id", external_id), ("name", name), ("email", clean_email),
                                 ("phone", clean_phone))
            if value and getattr(customer, field) != value
        ]
        for field in changed:
            setattr(customer, field, {"external_id": external_id, "name": name, "email": clean_email,
                                      "phone": clean_phone}[field])
        self.session.flush()
        for kind, value in (("external", external_id), ("email", clean_email), ("phone", clean_phone)):
            if value:
                self._link_quietly(customer.id, kind, value)
        self.audit.record(actor, "create" if created else "update", "customer", customer.id, customer.id,
                          {"fields": changed, "source": "record"})
        return customer

    def _owner(self, kind: str, value: str) -> Customer | None:
        return self.session.scalars(
            select(Customer)
            .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
            .where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
        ).first()

    def _link_quietly(self, customer_id: str, kind: str, value: str) -> None:
        owner = self.session.scalars(
            select(CustomerIdentity).where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
        ).first()
        if owner is None:
            self.session.add(CustomerIdentity(customer_id=customer_id, kind=kind, value=value))
            self.session.flush()
        elif owner.customer_id != customer_id:
            # Two business customers sharing a phone or email: the first keeps it, nobody is merged.
            log.warning("%s identity shared by two customers; kept on the first", kind)

    @staticmethod
    def _lenient(normalise: Any, value: str | None, name: str) -> str | None:
        if not value:
            return None
        try:
            result: str = normalise(value)
        except ValueError:
            log.warning("ignoring a malformed %s in the customer record", name)
            return None
        return result

    @staticmethod
    def _normalise_identity(kind: str, value: str, region: str | None) -> str:
        check_choice("identity kind", kind, IDENTITY_KINDS)
        if kind == "email":
            return normalise_email(value)
        if kind == "phone":
            return normalise_phone(value, region)
        value = value.strip()
        if not value:
            raise ValueError(f"invalid {kind} identity: empty")
        return value


