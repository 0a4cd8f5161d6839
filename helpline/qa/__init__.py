"""Automatic quality assurance of finished contacts: a rubric the pack can edit (``qa.yaml``), deterministic checks
over the stored transcript, state, ticket and audit log, a score stored on the ticket, and supervisors' disputes."""
