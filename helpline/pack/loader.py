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

from helpline.pack.checks import Issue, PackParts, check_pack
from helpline.pack.languages import language_suffix, localise, merge_wording, variant_issues
from helpline.pack.models import (
    BUILTIN_SLOT_TYPES,
    BusinessConfig,
    OperationsFile,
    Procedure,
    Replies,
)
from helpline.pack.records import RecordsDeclaration
from helpline.pack.seeds import seed_errors

M = TypeVar("M", bound=BaseModel)


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
    procedure_files: dict[str, str] = field(default_factory=dict)  # procedure id -> its file in the pack

    @property
    def knowledge_dir(self) -> Path:
        return self.root / "knowledge"


def _locate(node: yaml.Node | None, loc: Iterable[int | str]) -> tuple[int, yaml.Node | None]:
    """Follow a location (keys and indexes) through the YAML node tree: the closest line, and the node
    reached when the whole location was found (else None)."""
    if node is None:
        return 1, None
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
            return line, None
        node = child
    return line, node


def _node_line(node: yaml.Node | None, loc: Iterable[int | str]) -> int:
    """Follow a pydantic error location through the YAML node tree to the closest line."""
    return _locate(node, loc)[0]


def _issue_line(node: yaml.Node | None, issue: Issue) -> int:
    """The line of a check's finding; inside a `|` block the template's own line is counted on from the
    block's first line (other scalars keep their line breaks out of the text, so the field's line stands)."""
    if not issue.loc and node is None:
        return issue.line  # a whole-file template (templates/*.j2)
    line, value = _locate(node, issue.loc)
    if issue.line > 1 and isinstance(value, yaml.ScalarNode) and value.style == "|":
        return value.start_mark.line + 1 + issue.line
    return line


# libyaml's parser when present: a large pack loads several times faster, with the same line marks.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, root: Path, errors: list[PackError]) -> tuple[Any, yaml.Node | None]:
    rel = str(path.relative_to(root))
    try:
        text = path.read_text(encoding="utf-8")
        # one parse gives both the line marks (the node tree) and the data built from it
        parser = _YAML_LOADER(text)
        try:
            node = parser.get_single_node()
            data = parser.construct_document(node) if node is not None else None
        finally:
            parser.dispose()
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


def _load_file(path: Path, root: Path, model: type[M], errors: list[PackError]) -> tuple[M | None, yaml.Node | None]:
    """A pack file validated as `model`, and its node tree (for the lines of later checks)."""
    if not path.exists():
        errors.append(PackError(str(path.relative_to(root)), 1, "file is missing"))
        return None, None
    data, node = _read_yaml(path, root, errors)
    if data is None and node is None:
        return None, None
    return _validate(model, data if data is not None else {}, node, str(path.relative_to(root)), errors), node


# for other pack files read the same way (the pack's own example conversations, tests/*.yaml)
read_pack_yaml = _read_yaml
validate_pack_model = _validate
node_line = _node_line


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
    """References from business.yaml and operations.yaml (procedures are checked in checks.py)."""
    ops = pack.operations.operations
    slot_types = set(BUILTIN_SLOT_TYPES) | set(pack.business.id_formats)
    verification = pack.business.verification
    lookups = {verification.operation_for(m) for m in verification.methods}
    for name in sorted(lookups | ({verification.profile_operation} if verification.profile_operation else set())):
        if name not in ops:
            errors.append(PackError("business.yaml", _node_line(nodes["business.yaml"], ["verification"]),
                                    f"verification operation '{name}' is not defined in operations.yaml"))
    for method in pack.business.verification.methods:
        for name in method.fields:
            if name not in slot_types and name not in verification.factors:
                errors.append(PackError("business.yaml", _node_line(nodes["business.yaml"], ["verification"]),
                                        f"verification field '{name}' is not a known entity type or a declared "
                                        "factor (verification.factors)"))
    authorised = verification.authorised_users
    if authorised is not None and authorised.operation is not None and authorised.operation not in ops:
        line = _node_line(nodes["business.yaml"], ["verification", "authorised_users"])
        errors.append(PackError("business.yaml", line, f"authorised_users operation '{authorised.operation}' is "
                                                       "not defined in operations.yaml"))
    highest = verification.highest_level
    for name, operation in ops.items():
        if (operation.requires_assurance or 0) > highest:
            errors.append(PackError("operations.yaml", _node_line(nodes["operations.yaml"], ["operations", name]),
                                    f"operation '{name}' requires assurance {operation.requires_assurance}, but no "
                                    f"verification method or one_time_code reaches it"))
    for proc in pack.procedures.values():
        wanted = max([proc.requires_assurance or 0, *(s.requires_assurance or 0 for s in proc.steps)])
        if wanted > highest:
            errors.append(PackError(pack.procedure_files.get(proc.id, f"procedures/{proc.id}.yaml"), 1,
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
        seed = table.seed_file
        if seed is not None and not (pack.root / seed).exists():
            errors.append(PackError("operations.yaml", _node_line(nodes["operations.yaml"], ["tables", name]),
                                    f"table '{name}': file {seed} not found"))


class _ProcedureReferencesUnchecked(Procedure):
    """A procedure whose model-level reference checks stopped at the first bad label or slot: validated
    again without them, so checks.py can report every such mistake with its line (and everything else)."""

    def _references(self) -> Procedure:  # type: ignore[override]
        return self


def _load_procedure(data: Any, node: yaml.Node | None, rel: str, errors: list[PackError]) -> Procedure | None:
    found: list[PackError] = []
    proc = _validate(Procedure, data, node, rel, found)
    if proc is not None:
        return proc
    again: list[PackError] = []
    lenient = _validate(_ProcedureReferencesUnchecked, data, node, rel, again)
    if lenient is None:
        errors.extend(found)  # a field's own error: the checks need a whole procedure
        return None
    # only the reference checks failed: checks.py reports them (all of them); keep the model's words if
    # they found something the checks do not look for
    lenient.requires_verification = lenient.requires_verification or bool(lenient.requires_assurance)
    issues = check_pack(PackParts(Path(), None, None, [(rel, lenient)]))
    if not issues:
        errors.extend(found)
    return lenient


def load_pack(root: Path | str) -> BusinessPack:
    """Load and validate a pack; raises PackInvalid listing every error found."""
    root = Path(root).resolve()
    errors: list[PackError] = []
    if not root.is_dir():
        raise PackInvalid([PackError(str(root), 1, "not a directory")])
    nodes: dict[str, yaml.Node | None] = {}

    business, nodes["business.yaml"] = _load_file(root / "business.yaml", root, BusinessConfig, errors)
    operations, nodes["operations.yaml"] = _load_file(root / "operations.yaml", root, OperationsFile, errors)
    if operations is not None:
        _fill_settings(operations, read_env_file(root / ".env"), nodes["operations.yaml"], errors)

    procedures: dict[str, Procedure] = {}
    procedure_files: dict[str, str] = {}
    for path in sorted((root / "procedures").glob("*.yaml")):
        rel = str(path.relative_to(root))
        data, node = _read_yaml(path, root, errors)
        if data is None:
            continue
        nodes[rel] = node
        proc = _load_procedure(data, node, rel, errors)
        if proc is None:
            continue
        if proc.id in procedures:
            errors.append(PackError(rel, 1, f"procedure id '{proc.id}' is used twice (also in "
                                            f"{procedure_files[proc.id]})"))
            continue
        procedures[proc.id] = proc
        procedure_files[proc.id] = rel

    replies: dict[str, list[str]] = {}
    replies_rel = "templates/replies.yaml"
    if (root / replies_rel).exists():
        data, nodes[replies_rel] = _read_yaml(root / replies_rel, root, errors)
        if isinstance(data, dict):
            # one wording or a list of variants
            wording = {key: [value] if isinstance(value, str) else value for key, value in data.items()}
            parsed = _validate(Replies, {"replies": wording}, nodes[replies_rel], replies_rel, errors)
            if parsed is not None:
                replies = parsed.replies
        elif data is not None:
            errors.append(PackError(replies_rel, 1, "must map reply keys to wording"))

    replies_by_language = _load_language_replies(root, errors, nodes)
    # texts given per language in the procedures (prompts, labels, lines): settled on the first language's
    pack_languages = business.languages if business is not None else ["en"]
    pack_texts, language_issues = localise(list(procedures.values()), pack_languages)
    for proc_id, found_issues in language_issues.items():
        rel = procedure_files[proc_id]
        errors.extend(PackError(rel, _node_line(nodes.get(rel), issue.loc), issue.message) for issue in found_issues)

    # every message template the pack has (recap, apology, outage notice, survey, reminder, email reply — by email
    # or SMS), so each is parsed and checked here rather than failing when it is first sent
    email_templates = {
        path.stem: path.read_text(encoding="utf-8")
        for path in sorted((root / "templates").glob("*.j2")) if "." not in path.stem
    }

    email_templates.update(_language_templates(root, errors))

    for article_error in _check_articles(root):
        errors.append(article_error)
    variants = [*sorted((root / "knowledge").glob("*.md")), *sorted((root / "templates").glob("*.*.j2"))]
    for path, message in variant_issues(variants, pack_languages):
        errors.append(PackError(str(path.relative_to(root)), 1, message))

    records: RecordsDeclaration | None = None
    if (root / "records.yaml").exists():
        records, records_node = _load_file(root / "records.yaml", root, RecordsDeclaration, errors)
        if records is not None and operations is not None:
            for loc, message in records.check_operations(list(operations.operations)):
                errors.append(PackError("records.yaml", _node_line(records_node, loc), message))

    parts = PackParts(root, business, operations, [(procedure_files[p], proc) for p, proc in procedures.items()],
                      replies={replies_rel: replies, **{f"templates/replies.{lang}.yaml": wording
                                                         for lang, wording in replies_by_language.items()}},
                      email_templates={f"templates/{name}.j2": source for name, source in email_templates.items()})
    for issue in check_pack(parts):
        errors.append(PackError(issue.file, _issue_line(nodes.get(issue.file), issue), issue.message))
    if operations is not None:  # a seed row that does not fit its table: found here, not as a crash at startup
        errors.extend(PackError(seed.file, seed.line, str(seed).removeprefix(f"{seed.file} "))
                      for seed in seed_errors(operations.tables, root))

    if business is None or operations is None:
        raise PackInvalid(sorted(errors, key=lambda error: (error.file, error.line)))
    pack = BusinessPack(root, business, operations, procedures, replies, email_templates, records=records,
                        replies_by_language=merge_wording(replies_by_language, pack_texts),
                        procedure_files=procedure_files)
    _cross_check(pack, nodes, errors)
    if errors:
        raise PackInvalid(sorted(errors, key=lambda error: (error.file, error.line)))
    return pack


_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z]{2,4})?")


def _load_language_replies(root: Path, errors: list[PackError],
                           nodes: dict[str, yaml.Node | None]) -> dict[str, dict[str, list[str]]]:
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
        nodes[rel] = node
        if isinstance(data, dict):
            wording = {key: [value] if isinstance(value, str) else value for key, value in data.items()}
            parsed = _validate(Replies, {"replies": wording}, node, rel, errors)
            if parsed is not None:
                found[lang] = parsed.replies
        elif data is not None:
            errors.append(PackError(rel, 1, "must map reply keys to wording"))
    return found


def _language_templates(root: Path, errors: list[PackError]) -> dict[str, str]:
    """templates/<name>.<lang>.j2: a message template in another language, chosen for that conversation's."""
    found: dict[str, str] = {}
    paths = [p for p in sorted((root / "templates").glob("*.*.j2")) if language_suffix(p.stem)[1]]
    for path in paths:
        try:
            found[path.stem] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            errors.append(PackError(str(path.relative_to(root)), 1, f"not UTF-8 text ({exc.reason})"))
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
