"""How many real XLSForms the server takes: the upload endpoint's reader over ../shared/xlsform-corpus.

Prints one JSON object. The figure that matters is `rate_among_odk_valid`: of the forms ODK
Validate accepts (the manifest says which), the share this server takes as uploaded (target >= 98%).
A refusal is counted with its first problem's code; an exception that is not a FormsError is a crash.
A form whose selects list files (`select_one_from_file x.csv`) is taken as a draft; it is counted
again in `taken_needing_files` (and its files in `list_files_needed`): it publishes once they are attached.

    .venv/bin/python benchmarks/xlsform_corpus.py [CORPUS_DIR] [--list]

`--list` adds every ODK-valid form the server refuses, with its first problem.
"""

import json
import sys
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

from forms.choice_lists import list_files
from forms.errors import FormsError
from forms.xlsform import load_xlsform

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "xlsform-corpus"
EXAMPLES = 3


def run(corpus: Path, *, listing: bool = False) -> dict[str, object]:
    manifest = json.loads((corpus / "manifest.json").read_text())
    counts: Counter[str] = Counter()
    refusals: dict[str, list[str]] = defaultdict(list)
    refused_valid: list[dict[str, object]] = []
    crashes: Counter[str] = Counter()
    slowest = (0.0, "")
    for entry in manifest:
        name = entry["file"]
        valid = bool(entry.get("odk_validate_accepts"))
        counts["files"] += 1
        counts["odk_valid"] += valid
        data = (corpus / name).read_bytes()
        started = time.perf_counter()
        try:
            defn, _ = load_xlsform(data, Path(name).name)
        except FormsError as exc:
            first = exc.problems[0] if exc.problems else None
            code = first.code if first else "no_problem"
            counts["refused"] += 1
            counts["refused_located"] += bool(first and first.loc)
            refusals[code].append(name)
            if valid:
                counts["refused_among_odk_valid"] += 1
                if listing:
                    refused_valid.append({"file": name, "code": code, "message": first and first.message})
        except Exception as exc:  # a crash is what this benchmark exists to find
            counts["crashed"] += 1
            crashes[f"{type(exc).__name__}: {name}"] += 1
        else:
            counts["taken"] += 1
            counts["taken_among_odk_valid"] += valid
            if needs := list_files(defn):
                counts["taken_needing_files"] += 1
                counts["taken_needing_files_among_odk_valid"] += valid
                counts["list_files_needed"] += len(needs)
        elapsed = time.perf_counter() - started
        slowest = max(slowest, (elapsed, name))
    by_code = sorted(refusals.items(), key=lambda item: (-len(item[1]), item[0]))
    result: dict[str, object] = {
        "corpus": str(corpus),
        "counts": {
            key: counts[key]
            for key in (
                "files",
                "odk_valid",
                "taken",
                "taken_among_odk_valid",
                "taken_needing_files",
                "taken_needing_files_among_odk_valid",
                "list_files_needed",
                "refused",
                "refused_located",
                "refused_among_odk_valid",
                "crashed",
            )
        },
        "rate_among_odk_valid": round(counts["taken_among_odk_valid"] / max(counts["odk_valid"], 1), 4),
        "target_rate": 0.98,
        "refusals_by_first_code": {
            code: {"forms": len(names), "examples": names[:EXAMPLES]} for code, names in by_code
        },
        "crashes": dict(crashes),
        "slowest_import": {"seconds": round(slowest[0], 3), "file": slowest[1]},
    }
    if listing:
        result["refused_odk_valid"] = refused_valid
    return result


def main() -> None:
    warnings.simplefilter("ignore")  # openpyxl's notes on styles it drops say nothing about the form
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    corpus = Path(args[0]) if args else DEFAULT_CORPUS
    print(json.dumps(run(corpus, listing="--list" in sys.argv), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
