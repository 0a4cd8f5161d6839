"""The application layer: what every channel, the console and the API talk to.

Between the channels (driving adapters: API, widget, phone, email, SMS, console) and the core
(``conversation/``, the engine): the conversation service that runs one turn at a time per conversation
(``conversations.py``: start, end, read; ``turns.py``: applying a turn; ``staff.py``: the staff's actions;
``serialise.py``: the locks), the typed view of a turn every channel renders (``views.py``: replies, hand-off,
events), the turn recorder that stores a turn's outcome in its transaction (``recorder.py``), the "conversation
changed" event bus (``bus.py``: its API is the port, the in-process bus its single-node adapter; Redis is
``adapters/redis_shared.py``), and small typed reads channels need (``handoffs.py``). Channels import this
package, never the store, for a conversation's work.
"""
