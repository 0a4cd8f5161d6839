"""Composition root: builds the engine and its adapters from a pack folder and database URLs."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from helpline.adapters.redis_shared import DEFAULT_PREFIX, RedisEventBus, SharedRedis
from helpline.application.bus import EventBus
from helpline.application.conversations import ConversationService
from helpline.connectors.business_tables import open_business_tables
from helpline.connectors.codes import SmtpCodeSender
from helpline.connectors.gateway import PackOperations
from helpline.connectors.records import RecordQuestions
from helpline.conversation.commands import CommandGenerator
from helpline.conversation.engine import Engine
from helpline.conversation.knowledge_answers import RecordAnswerer
from helpline.conversation.ports import CodeSender, Embedder, KnowledgeHit
from helpline.files import cache_folder
from helpline.knowledge.answer import best_answer, covers_question
from helpline.knowledge.articles import load_articles
from helpline.knowledge.index import KnowledgeIndex
from helpline.llm.assisted import ModelAssistedInterpreter
from helpline.llm.commands import ModelCommandReader, PackSurface
from helpline.llm.grounded import GroundedAnswerer, RecordWording
from helpline.llm.port import LanguageModel
from helpline.llm.settings import LlmMode
from helpline.pack.loader import BusinessPack, load_pack
from helpline.store.db import Database, default_url
from helpline.store.throttle import AttemptLimiter
from helpline.understanding.act_answers import ActAnswers
from helpline.understanding.acts import DialogueActClassifier
from helpline.understanding.embedding_cache import CachedEmbedder
from helpline.understanding.embeddings import MODEL_SHA256, MiniLMEmbedder
from helpline.understanding.entities import ProductInfo
from helpline.understanding.interpreter import ActReader, EmbeddedInterpreter
from helpline.understanding.language import LanguageDetector
from helpline.understanding.slots import ExtractorSlotReader
from helpline.understanding.understander import EmbeddedUnderstander

log = logging.getLogger(__name__)

REDIS_URL_ENV = "HELPLINE_REDIS_URL"
REDIS_PREFIX_ENV = "HELPLINE_REDIS_PREFIX"

NON_OPTION_COLUMNS = {"sku", "id", "name", "product", "price", "in_stock", "option_summary", "unit_price",
                      "description", "stock", "quantity"}


@dataclass
class Runtime:
    pack: BusinessPack
    db: Database
    db_url: str
    records_url: str
    engine: Engine
    knowledge: KnowledgeIndex
    operations: PackOperations
    conversations: ConversationService
    products: list[ProductInfo] = field(default_factory=list)  # the catalogue, as read once at start-up
    shared: SharedRedis | None = None  # Redis, shared with the other nodes (None: this process alone)


def open_database(url: str | None) -> Database:
    database = Database(url or default_url())
    database.migrate()
    return database


def connect_shared(redis_url: str | None, db: Database) -> SharedRedis | None:
    """Redis for what nodes share (bus, rate limits, widget de-duplication), from ``redis_url`` or
    $HELPLINE_REDIS_URL (key prefix $HELPLINE_REDIS_PREFIX); without it, say plainly that this process is
    the only node it can safely be (docs/deployment.md)."""
    url = redis_url or os.environ.get(REDIS_URL_ENV) or None
    if url:
        shared = SharedRedis.connect(url, os.environ.get(REDIS_PREFIX_ENV) or DEFAULT_PREFIX)
        if db.dialect == "sqlite":
            log.warning("Redis is set but the database is SQLite: SQLite serves one node only")
        return shared
    if db.dialect == "sqlite":
        log.info("single node: SQLite database; live updates, rate limits and duplicate checks are in this "
                 "process (use PostgreSQL and --redis-url for several nodes)")
    else:
        log.warning("single node only: without --redis-url, live console updates, widget delivery of staff "
                    "replies, rate limits and duplicate-message checks stay in this process. Run one node on "
                    "this database, or give every node --redis-url (docs/deployment.md)")
    return None


def catalogue_products(pack: BusinessPack, operations: PackOperations) -> list[ProductInfo]:
    """Product names and option values, for matching "the blue one in size M" to the catalogue."""
    catalogue = pack.business.catalogue
    if catalogue.items:
        return [ProductInfo(name=item.name, options=dict(item.options)) for item in catalogue.items]
    if not catalogue.operation:
        return []
    result = operations.call(catalogue.operation, {})
    if result.ok and isinstance(result.data, dict):
        # a name -> id mapping: names only
        return [ProductInfo(name=str(name), options={}) for name in result.data]
    if not result.ok or not isinstance(result.data, list):
        log.warning("catalogue operation %s failed: %s", catalogue.operation, result.error)
        return []
    products: dict[str, dict[str, list[str]]] = {}
    for row in result.data:
        if not isinstance(row, dict):
            continue
        name = row.get("name") or row.get("product")
        if not name:
            continue
        options = products.setdefault(str(name), {})
        for key, value in row.items():
            if key in NON_OPTION_COLUMNS or not isinstance(value, str) or not value.strip():
                continue
            values = options.setdefault(key, [])
            if value not in values:
                values.append(value)
    return [ProductInfo(name=name, options=options) for name, options in products.items()]


# Languages a customer may write in that we recognise (to answer "I only speak English" in theirs);
# the pack itself speaks English.
RECOGNISED_LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl", "pl", "tr", "ru", "zh", "ja", "ko", "ar", "hi")


@dataclass
class PackModels:
    """What is trained or indexed when a pack loads (shared by every conversation)."""

    understander: EmbeddedUnderstander
    knowledge: KnowledgeIndex
    products: list[ProductInfo] = field(default_factory=list)
    language: LanguageDetector | None = None
    acts: ActReader | None = None
    embedder: Embedder | None = None


def default_embedder(cache_dir: Path | None = None) -> Embedder:
    """MiniLM, with the pack's own texts cached on disk (in `cache_dir`, else `cache_folder()`) so restarts are
    quick."""
    folder = cache_dir or cache_folder()
    return CachedEmbedder(MiniLMEmbedder(), folder / f"embeddings-{MODEL_SHA256[:12]}.npz", model_id=MODEL_SHA256)


def build_models(pack: BusinessPack, operations: PackOperations, embedder: Embedder | None = None) -> PackModels:
    embedder = embedder or default_embedder()
    products = catalogue_products(pack, operations)
    understander = EmbeddedUnderstander.build(
        phrasings={pid: list(proc.triggers) for pid, proc in pack.procedures.items()},
        id_formats=dict(pack.business.id_formats),
        products=products,
        default_region=pack.business.phone_region,
        embedder=embedder,
    )
    knowledge = KnowledgeIndex(embedder, products=[p.name for p in products])
    knowledge.build(load_articles(pack.knowledge_dir))
    acts = ActAnswers(DialogueActClassifier.load(embedder=embedder))
    return PackModels(understander, knowledge, products, language=LanguageDetector(RECOGNISED_LANGUAGES),
                      acts=acts, embedder=embedder)


@dataclass(frozen=True)
class ModelAssistance:
    """A configured language model and how to use it (issue 11); absent, Helpline runs on embedded models."""

    model: LanguageModel
    mode: LlmMode = LlmMode.HYBRID
    share_customer_data: bool = False


def identity_fields(pack: BusinessPack) -> tuple[str, ...]:
    methods = pack.business.verification.methods
    return tuple(dict.fromkeys(name for method in methods for name in method.fields))


def build_engine(pack: BusinessPack, models: PackModels, operations: PackOperations,
                 codes: CodeSender | None = None, assistance: ModelAssistance | None = None) -> Engine:
    slot_reader = ExtractorSlotReader(models.understander.extractor)
    interpreter: CommandGenerator = EmbeddedInterpreter(
        models.understander, pack.procedures, slot_reader, acts=models.acts, language=models.language,
        languages=tuple(pack.business.languages), knowledge=models.knowledge, records=pack.records,
        embedder=models.embedder)

    def extractive(question: str, hits: list[KnowledgeHit]) -> object | None:
        return best_answer(hits, articles=models.knowledge.articles, question=question)

    kb_answer: Callable[[str, list[KnowledgeHit]], object | None] = extractive
    assisting = assistance if assistance is not None and assistance.mode != LlmMode.EMBEDDED else None
    if assisting is not None:
        surface = PackSurface(pack.procedures, identity_fields=identity_fields(pack),
                              id_types=tuple(pack.business.id_formats), business_name=pack.business.name)
        interpreter = ModelAssistedInterpreter(interpreter, ModelCommandReader(assisting.model, surface, slot_reader),
                                               assisting.mode, assisting.share_customer_data)
        kb_answer = GroundedAnswerer(assisting.model, extractive)
    engine = Engine(
        pack,
        interpreter=interpreter,
        slot_reader=slot_reader,
        knowledge=models.knowledge,
        operations=operations,
        kb_answer=kb_answer,
        codes=codes,
    )
    engine.kb_covers = lambda query, hits: covers_question(query, hits, models.knowledge.articles,
                                                           models.knowledge.products)
    if pack.records is not None:
        records: RecordAnswerer = RecordQuestions(pack.records, operations).answer
        if assisting is not None:
            records = RecordWording(assisting.model, records, assisting.share_customer_data)
        engine.records = records
    return engine


def build_runtime(
    pack_dir: Path | str,
    db_url: str | None = None,
    records_url: str | None = None,
    models: PackModels | None = None,
    clock: Callable[[], datetime] | None = None,
    code_sender: CodeSender | None = None,
    assistance: ModelAssistance | None = None,
    redis_url: str | None = None,
) -> Runtime:
    """`code_sender` delivers one-time codes for step-up verification; by default SMTP from HELPLINE_SMTP_*
    (connectors/codes.py), and without it changes that need a code are handed to a person."""
    pack = load_pack(pack_dir)
    database = open_database(db_url)
    records, sql = open_business_tables(pack, records_url, db_url)
    operations = PackOperations(pack.operations, sql)
    models = models or build_models(pack, operations)
    if code_sender is None:
        code_sender = SmtpCodeSender.from_env(business=pack.business.name)
    engine = build_engine(pack, models, operations, codes=code_sender, assistance=assistance)
    shared = connect_shared(redis_url, database)
    bus = RedisEventBus(shared) if shared is not None else EventBus()
    service = ConversationService(engine, database, clock=clock, bus=bus,
                                  attempt_limiter=AttemptLimiter(pack.business.verification.attempt_limits))
    return Runtime(pack, database, database.url, records, engine, models.knowledge, operations, service,
                   models.products, shared)
