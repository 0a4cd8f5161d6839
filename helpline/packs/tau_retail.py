"""Make a servable copy of the tau-retail store's pack (examples/tau-retail) for one store backend.

The pack itself is the plain folder examples/tau-retail: business.yaml, operations.yaml,
records.yaml, procedures/*.yaml and templates/, written by hand. Only two things come from outside it:

- the knowledge base, one article per section of the store's policy.md (the dataset stays in
  ../shared and is never copied into the repository), and
- the backend's address, written to the pack's `.env` as TAU_STORE_URL (operations.yaml calls
  ``${TAU_STORE_URL}/operations/<name>``; an environment variable of that name overrides it).

Every customer, order and product is read at run time through the store's HTTP operations.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import yaml

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tau-retail"

# The folders copied from the example; files already in them are removed first, so a regenerated
# pack never keeps a stale procedure or article from an earlier version.
_FOLDERS = ("knowledge", "procedures", "templates")


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "policy"


def knowledge_articles(policy: str) -> dict[str, str]:
    """One article per '## ' section of policy.md (the opening rules become 'How we can help')."""
    sections: list[tuple[str, list[str]]] = [("How we can help", [])]
    for line in policy.splitlines():
        if line.startswith("# "):
            continue
        if line.startswith("## "):
            sections.append((line[3:].strip(), []))
            continue
        sections[-1][1].append(line[1:] if line.startswith("###") else line)
    articles: dict[str, str] = {}
    for title, lines in sections:
        body = "\n".join(lines).strip()
        if not body:
            continue
        words = sorted({w for w in re.findall(r"[a-z]+", title.lower()) if len(w) > 3})
        front = yaml.safe_dump({"title": title, "tags": ["policy", *words], "audience": "customer"},
                               sort_keys=False).strip()
        # a lead paragraph that names the topic helps retrieval match plain questions to the section
        articles[f"{_slug(title)}.md"] = f"---\n{front}\n---\nOur policy on {title.lower()}.\n\n{body}\n"
    return articles


def _check_operations(dataset_dir: Path, source: Path) -> None:
    """Every operation of the store must be in the pack (a newer store must not be silently half-mapped)."""
    store = {op.get("function", op)["name"] for op in json.loads((dataset_dir / "operations.json").read_text())}
    pack = set(yaml.safe_load((source / "operations.yaml").read_text())["operations"])
    missing = store - pack
    if missing:
        raise ValueError(f"the store has operations {source / 'operations.yaml'} does not map: {sorted(missing)}")


def generate(dataset_dir: Path, out_dir: Path, backend_url: str, source: Path = EXAMPLE) -> Path:
    """Copy the pack `source` into out_dir (created if needed) with the knowledge written from the
    dataset's policy.md and `.env` naming the backend; return out_dir."""
    policy_path = dataset_dir / "policy.md"
    if not policy_path.is_file():
        raise FileNotFoundError(f"{policy_path} not found: is {dataset_dir} the tau-retail dataset?")
    if not (source / "operations.yaml").is_file():
        raise FileNotFoundError(f"{source} is not the tau-retail pack folder (no operations.yaml)")
    if out_dir.resolve() == source.resolve():
        raise ValueError(f"{source} is the pack's source: write the servable copy to another folder")
    _check_operations(dataset_dir, source)

    out_dir.mkdir(parents=True, exist_ok=True)
    for sub in _FOLDERS:
        for old in (out_dir / sub).glob("*"):
            if old.is_file():
                old.unlink()
    shutil.copytree(source, out_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    (out_dir / "knowledge").mkdir(exist_ok=True)
    for name, text in knowledge_articles(policy_path.read_text()).items():
        (out_dir / "knowledge" / name).write_text(text)
    (out_dir / ".env").write_text(
        f"# Written by `helpline pack from-tau-retail` (knowledge/ from {dataset_dir.resolve() / 'policy.md'}).\n"
        f"# The store's order system; a TAU_STORE_URL environment variable overrides it.\n"
        f"TAU_STORE_URL={backend_url.rstrip('/')}\n")
    return out_dir

