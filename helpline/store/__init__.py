"""Helpline's own database: ORM models, Alembic migrations, audited repositories, boundary validators."""
