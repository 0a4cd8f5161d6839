"""Load a business pack folder into validated models, reporting errors with file and line."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from helpline.pack.models import (
    BUILTIN_SLOT_TYPES,
    BusinessConfig,
    OperationsFile,
    Procedure,
    Replies,
)
from helpline.pack.records import RecordsDeclaration

M = TypeVar("M", bound=BaseModel)

EMAIL_TEMPLATES = ("recap_email", "apology_email", "outage_notice")


@dataclass(frozen=True)
class PackError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class PackInvalid(Exception):
    def __init__(self, errors: Sequence[PackError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass
class BusinessPack:
    root: Path
    business: BusinessConfig
    operations: OperationsFile
    procedures: dict[str, Procedure]
    replies: dict[str, list[str]]
    email_templates: dict[str, str] = field(default_factory=dict)
    # templates/replies.<lang>.yaml: the replies in another language, by ISO 639-1 code
    replies_by_language: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    records: RecordsDeclaration | None = None  # records.yaml: the customer's own records (optional)

    @property
    def knowledge_dir(self) -> Path:
        return self.root / "knowledge"


def _node_line(node: yaml.Node | None, loc: Iterable[int | str]) -> int:
    """Follow a pydantic error location through the YAML node tree to the closest line."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    child = value_node
                    line = key_node.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


# libyaml's parser when present: a large pack loads several times faster, with the same line marks.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, root: Path, errors: list[PackError]) -> tuple[Any, yaml.Node | None]:
    rel = str(path.relative_to(root))
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=_YAML_LOADER)
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        errors.append(PackError(rel, (mark.line + 1) if mark else 1, str(exc.problem or exc)))
        return None, None
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(PackError(rel, 1, f"cannot read: {exc}"))
        return None, None
    return data, node


def _validate(
    model: type[M], data: Any, node: yaml.Node | None, rel: str, errors: list[PackError]
) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            where = ".".join(str(p) for p in loc) or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            errors.append(PackError(rel, _node_line(node, loc), f"{where}: {message}"))
        return None


def _load_model(path: Path, root: Path, model: type[M], errors: list[PackError]) -> M | None:
    if not path.exists():
        errors.append(PackError(str(path.relative_to(root)), 1, "file is missing"))
        return None
    data, node = _read_yaml(path, root, errors)
    if data is None and node is None:
        return None
    return _validate(model, data if data is not None else {}, node, str(path.relative_to(root)), errors)


# `${NAME}` or `${NAME:-default}` in an HTTP operation's url (e.g. the address of the business's system)
_SETTING = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def read_env_file(path: Path) -> dict[str, str]:
    """A pack's `.env`: `NAME=value` lines (blank lines and `#` comments skipped, quotes removed)."""
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            name, equals, value = line.strip().partition("=")
            if equals and not name.startswith("#"):
                values[name.strip()] = value.strip().strip("'\"")
    return values


def substitute_settings(text: str, settings: Mapping[str, str]) -> tuple[str, list[str]]:
    """Replace `${NAME}` / `${NAME:-default}` (the process environment first, then `settings`);
    returns the text and the names that have no value."""
    missing: list[str] = []

    def value(match: re.Match[str]) -> str:
        found = os.environ.get(match[1], settings.get(match[1], match[2]))
        if found is None:
            missing.append(match[1])
            return match[0]
        return found

    return _SETTING.sub(value, text), missing


def _fill_settings(
    operations: OperationsFile, settings: Mapping[str, str], node: yaml.Node | None, errors: list[PackError]
) -> None:
    for name, op in operations.operations.items():
        if op.http is None:
            continue
        op.http.url, missing = substitute_settings(op.http.url, settings)
        for setting in missing:
            errors.append(PackError("operations.yaml", _node_line(node, ["operations", name, "http", "url"]),
                                    f"operation '{name}': ${{{setting}}} is not set (environment or .env)"))


def _cross_check(pack: BusinessPack, nodes: dict[str, yaml.Node | None], errors: list[PackError]) -> None:
    """References between files: operations, slot types, tiers."""
    ops = pack.operations.operations
    slot_types = set(BUILTIN_SLOT_TYPES) | set(pack.business.id_formats)
    tiers = {t.name for t in pack.business.escalation.tiers}
    verification = pack.business.verification
    lookups = {verification.operation_for(m) for m in verification.methods}
    for name in sorted(lookups | ({verification.profile_operation} if verification.profile_operation else set())):
        if name not in ops:
            errors.append(PackError("business.yaml", _node_line(nodes["business.yaml"], ["verification"]),
                                    f"verification operation '{name}' is not defined in operations.yaml"))
    for method in pack.business.verification.methods:
        for name in method.fields:
            if name not in slot_types:
                errors.append(PackError("business.yaml", _node_line(nodes["business.yaml"], ["verification"]),
                                        f"verification field '{name}' is not a known entity type"))
    highest = verification.highest_level
    for name, operation in ops.items():
        if (operation.requires_assurance or 0) > highest:
            errors.append(PackError("operations.yaml", _node_line(nodes["operations.yaml"], ["operations", name]),
                                    f"operation '{name}' requires assurance {operation.requires_assurance}, but no "
                                    f"verification method or one_time_code reaches it"))
    for proc in pack.procedures.values():
        wanted = max([proc.requires_assurance or 0, *(s.requires_assurance or 0 for s in proc.steps)])
        if wanted > highest:
            errors.append(PackError(f"procedures/{proc.id}.yaml", 1,
                                    f"requires assurance {wanted}, but no verification method or "
                                    f"one_time_code in business.yaml reaches it"))
    for index, option in enumerate(pack.business.phone_menu):
        if option.procedure is not None and option.procedure not in pack.procedures:
            errors.append(PackError("business.yaml", _node_line(nodes["business.yaml"], ["phone_menu", index]),
                                    f"phone_menu key {option.key}: unknown procedure '{option.procedure}'"))
    if pack.business.catalogue.operation and pack.business.catalogue.operation not in ops:
        errors.append(PackError("business.yaml", _node_line(nodes["business.yaml"], ["catalogue"]),
                                f"catalogue.operation '{pack.business.catalogue.operation}' is not defined"))
    for name, table in pack.operations.tables.items():
        if not (pack.root / table.file).exists():
            errors.append(PackError("operations.yaml", _node_line(nodes["operations.yaml"], ["tables", name]),
                                    f"table '{name}': file {table.file} not found"))
    for proc in pack.procedures.values():
        rel = f"procedures/{proc.id}.yaml"
        node = nodes.get(rel)
        for slot_name, slot in proc.slots.items():
            if slot.type not in slot_types:
                errors.append(PackError(rel, _node_line(node, ["slots", slot_name, "type"]),
                                        f"slot '{slot_name}' has unknown type '{slot.type}'"))
        previous_confirm = False
        for index, step in enumerate(proc.steps):
            line = _node_line(node, ["steps", index])
            if step.call is not None:
                spec = ops.get(step.call)
                if spec is None:
                    errors.append(PackError(rel, line, f"step calls unknown operation '{step.call}'"))
                elif spec.changes_data and not previous_confirm:
                    errors.append(PackError(rel, line, f"'{step.call}' changes data: a confirm step must come "
                                                       "right before it"))
            if step.tier is not None and step.tier not in tiers:
                errors.append(PackError(rel, line, f"unknown escalation tier '{step.tier}'"))
            previous_confirm = step.confirm is not None


def load_pack(root: Path | str) -> BusinessPack:
    """Load and validate a pack; raises PackInvalid listing every error found."""
    root = Path(root).resolve()
    errors: list[PackError] = []
    if not root.is_dir():
        raise PackInvalid([PackError(str(root), 1, "not a directory")])
    nodes: dict[str, yaml.Node | None] = {}

    business = _load_model(root / "business.yaml", root, BusinessConfig, errors)
    nodes["business.yaml"] = _read_yaml(root / "business.yaml", root, [])[1] if business else None
    operations = _load_model(root / "operations.yaml", root, OperationsFile, errors)
    nodes["operations.yaml"] = _read_yaml(root / "operations.yaml", root, [])[1] if operations else None
    if operations is not None:
        _fill_settings(operations, read_env_file(root / ".env"), nodes["operations.yaml"], errors)

    procedures: dict[str, Procedure] = {}
    for path in sorted((root / "procedures").glob("*.yaml")):
        rel = str(path.relative_to(root))
        data, node = _read_yaml(path, root, errors)
        if data is None:
            continue
        proc = _validate(Procedure, data, node, rel, errors)
        if proc is None:
            continue
        if proc.id in procedures:
            errors.append(PackError(rel, 1, f"procedure id '{proc.id}' is used twice"))
        procedures[proc.id] = proc
        nodes[f"procedures/{proc.id}.yaml"] = node

    replies: dict[str, list[str]] = {}
    replies_path = root / "templates" / "replies.yaml"
    if replies_path.exists():
        data, node = _read_yaml(replies_path, root, errors)
        if isinstance(data, dict):
            parsed = _validate(Replies, {"replies": data}, node, "templates/replies.yaml", errors)
            if parsed is not None:
                replies = parsed.replies
        elif data is not None:
            errors.append(PackError("templates/replies.yaml", 1, "must map reply keys to wording"))

    replies_by_language = _load_language_replies(root, errors)

    email_templates = {
        name: (root / "templates" / f"{name}.j2").read_text(encoding="utf-8")
        for name in EMAIL_TEMPLATES
        if (root / "templates" / f"{name}.j2").exists()
    }

    for article_error in _check_articles(root):
        errors.append(article_error)

    records: RecordsDeclaration | None = None
    if (root / "records.yaml").exists():
        records = _load_model(root / "records.yaml", root, RecordsDeclaration, errors)
        if records is not None and operations is not None:
            records_node = _read_yaml(root / "records.yaml", root, [])[1]
            for loc, message in records.check_operations(list(operations.operations)):
                errors.append(PackError("records.yaml", _node_line(records_node, loc), message))

    if business is None or operations is None:
        raise PackInvalid(errors)
    pack = BusinessPack(root, business, operations, procedures, replies, email_templates, records=records,
                        replies_by_language=replies_by_language)
    _cross_check(pack, nodes, errors)
    if errors:
        raise PackInvalid(errors)
    return pack


_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z]{2,4})?")


def _load_language_replies(root: Path, errors: list[PackError]) -> dict[str, dict[str, list[str]]]:
    """templates/replies.<lang>.yaml (lang: an ISO 639-1 code such as `es`, or `pt-BR`), each like replies.yaml."""
    found: dict[str, dict[str, list[str]]] = {}
    for path in sorted((root / "templates").glob("replies.*.yaml")):
        rel = str(path.relative_to(root))
        lang = path.name.removeprefix("replies.").removesuffix(".yaml")
        if not _LANGUAGE_CODE.fullmatch(lang):
            errors.append(PackError(rel, 1, f"'{lang}' is not a language code: name the file replies.<code>.yaml "
                                            "with an ISO 639-1 code, e.g. replies.es.yaml"))
            continue
        data, node = _read_yaml(path, root, errors)
        if isinstance(data, dict):
            wording = {key: [value] if isinstance(value, str) else value for key, value in data.items()}
            parsed = _validate(Replies, {"replies": wording}, node, rel, errors)
            if parsed is not None:
                found[lang] = parsed.replies
        elif data is not None:
            errors.append(PackError(rel, 1, "must map reply keys to wording"))
    return found


def _check_articles(root: Path) -> list[PackError]:
    from helpline.knowledge.articles import ArticleError, load_article

    found: list[PackError] = []
    for path in sorted((root / "knowledge").glob("*.md")):
        try:
            load_article(path)
        except ArticleError as exc:
            found.append(PackError(str(path.relative_to(root)), exc.line, exc.message))
    return found
