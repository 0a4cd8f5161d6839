"""An engine over a small pack a test writes into a folder: the embedded understanding trained on its procedures'
triggers, its operations on a SQLite file of its own beside the pack."""

from __future__ import annotations

from pathlib import Path

from helpline.connectors.gateway import PackOperations
from helpline.connectors.sql import SqlOperations
from helpline.conversation.engine import Engine
from helpline.conversation.policy import EnginePolicy
from helpline.knowledge.index import KnowledgeIndex
from helpline.pack.loader import load_pack
from helpline.understanding.interpreter import EmbeddedInterpreter
from helpline.understanding.slots import ExtractorSlotReader
from helpline.understanding.understander import EmbeddedUnderstander


def engine_over_pack(folder: Path, knowledge: KnowledgeIndex | None = None,
                     policy: EnginePolicy | None = None) -> Engine:
    """``knowledge``, when given, is searched by the understanding too (as the runtime wires it); without it the
    engine has an empty index and the understanding none."""
    pack = load_pack(folder)
    operations = PackOperations(pack.operations, SqlOperations.open(f"sqlite:///{folder / 'r.db'}", pack.root,
                                                                    pack.operations.tables))
    understander = EmbeddedUnderstander.build({name: procedure.triggers for name, procedure in pack.procedures.items()},
                                              id_formats=pack.business.id_formats)
    slot_reader = ExtractorSlotReader(understander.extractor)
    interpreter = EmbeddedInterpreter(understander, pack.procedures, slot_reader, knowledge=knowledge)
    return Engine(pack, interpreter, slot_reader, knowledge or KnowledgeIndex(None), operations, policy=policy)
