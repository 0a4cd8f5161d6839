"""The application layer: what every channel, the console and the API talk to.

Between the channels (driving adapters: API, widget, phone, email, SMS, console) and the core
(``conversation/``, the engine): the conversation service that runs one turn at a time per conversation
(``conversations.py``: start, end, read; ``turns.py``: applying a turn; ``staff.py``: the staff's actions;
``serialise.py``: the locks), the typed view of a turn every channel renders (``views.py``: replies, hand-off,
events), the turn recorder that stores a turn's outcome in its transaction (``recorder.py``), the "conversation
changed" event bus (``bus.py``: its API is the port, the in-process bus its single-node adapter; Redis is
``adapters/redis_shared.py``), small typed reads and writes the channels need (``handoffs.py``, ``callbacks.py``,
``keys.py``, ``widget_sessions.py``, ``sms_threads.py``, ``sms_deliveries.py``, ``opt_outs.py``,
``queued_lines.py``, ``email_threads.py``) and the console's desks (``console_access.py``, ``audit.py``,
``ticket_desk.py``, ``live_view.py``, ``customer_view.py``, ``incident_desk.py``, ``knowledge_desk.py``,
``kpi_reports.py``, ``outbound_desk.py``, ``console_exports.py``), which the API's routes use too, with
``idempotency_keys.py`` for its Idempotency-Key guard. ``storage.py`` names the database handle the API and the
CLI hold and pass along, and the ``NotFound``/``Conflict`` refusals the API maps to 404/409. Channels, voice, the
console and the API import this package, never the store (import-linter checks it); what they get back are plain
dataclasses, not ORM rows.
"""
