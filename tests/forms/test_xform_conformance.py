"""Every form the suite uses (tests/forms/form_corpus.py) becomes an XForm that ODK Validate (JavaRosa,
the engine of ODK Collect) and Enketo's transformer (what an Enketo server runs before showing a form)
accept. pyxform writes XForms, but only these two read them as the tablets will.

Java and Node each start once per batch, not once per form: ODK Validate takes many files and lists
those that failed; tests/tools/enketo/transform.mjs prints one JSON line per file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from pathlib import Path

import msgspec
import pytest

from forms.xform import XFormError, compile_xform
from tests.forms.form_corpus import Form, corpus
from tests.tools import need, unavailable

ODK_VALIDATE = Path(str(files("pyxform") / "validators" / "odk_validate" / "bin" / "ODK_Validate.jar"))
ENKETO = Path(__file__).resolve().parents[1] / "tools" / "enketo"
REFUSED = {
    # a group holding only a `start` row: pyxform writes it, ODK Collect (JavaRosa) refuses an empty
    # group, so the server refuses the XForm too and publishes the version for JSON tablets only
    "tests/forms/test_forms_metadata.py": ("the group 'shop' has no question a tablet shows",),
    # written to be refused: a label naming a field the form lacks (`${nobody}`), which pyxform checks,
    # and a group of nothing but a calculation
    "tests/api/test_api_xforms.py": ("Could not find the name 'nobody'",),
    "tests/forms/test_xform.py": ("Could not find the name 'nobody'", "the group 'g' has no question"),
}
"""Forms of the suite that get no XForm, by the file that writes them, and a piece of each reason."""
_FAILED = re.compile(r"The following files failed validation:\s*\n(.*?)(?:\n\s*\n|\nResult:|\Z)", re.S)


class Compiled(msgspec.Struct, kw_only=True):
    xforms: dict[Path, Form]
    refused: dict[str, str]
    """Forms pyxform would not compile: their source -> pyxform's reason."""
    corpus_size: int
    unevaluated: list[str]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    found = corpus()
    folder = tmp_path_factory.mktemp("xforms")
    xforms: dict[Path, Form] = {}
    refused: dict[str, str] = {}
    for i, form in enumerate(found.forms):
        try:
            data = compile_xform(form.definition, form.workbook)
        except XFormError as exc:
            refused[form.source] = str(exc)
            continue
        path = folder / f"{i:03d}-{form.definition.key}.xml"
        path.write_bytes(data)
        xforms[path] = form
    return Compiled(
        xforms=xforms, refused=refused, corpus_size=len(found.forms), unevaluated=found.unevaluated
    )


def test_the_corpus_holds_the_suites_forms(compiled: Compiled) -> None:
    print(f"\n{compiled.corpus_size} forms the server accepts; not read: {compiled.unevaluated or 'none'}")
    assert compiled.corpus_size >= 50, (
        "form_corpus found too few forms: has the way tests write forms changed?"
    )


def test_pyxform_compiles_every_form_but_those_tablets_would_refuse(compiled: Compiled) -> None:
    unexpected = {
        source: reason
        for source, reason in compiled.refused.items()
        if not any(fragment in reason for fragment in REFUSED.get(source.split(":")[0], ()))
    }
    assert unexpected == {}
    seen = {
        (source.split(":")[0], f)
        for source, r in compiled.refused.items()
        for f in REFUSED.get(source.split(":")[0], ())
        if f in r
    }
    assert seen == {(source, f) for source, fragments in REFUSED.items() for f in fragments}


def test_odk_validate_accepts_every_xform(compiled: Compiled) -> None:
    need("java", "default-jre-headless")
    if not ODK_VALIDATE.is_file():
        unavailable(f"pyxform's ODK Validate is not at {ODK_VALIDATE}")
    paths = sorted(compiled.xforms)
    workers = max(1, min(4, os.cpu_count() or 1))
    batches = [paths[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        failed = [path for found in pool.map(_odk_validate, batches) for path in found]
    reasons = {compiled.xforms[p].source: _odk_validate_one(p) for p in failed}
    assert reasons == {}


def test_enketo_transforms_every_xform(compiled: Compiled) -> None:
    need("node", "nodejs")
    if not (ENKETO / "node_modules" / "libxslt" / "build").is_dir():
        unavailable("Enketo's transformer is not installed in tests/tools/enketo (.ci/run shows how: npm ci)")
    result = subprocess.run(
        ["node", str(ENKETO / "transform.mjs"), *map(str, sorted(compiled.xforms))],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == len(compiled.xforms), result.stderr
    errors = {compiled.xforms[Path(line["file"])].source: line["error"] for line in lines if not line["ok"]}
    assert errors == {}


def _odk_validate(paths: list[Path]) -> list[Path]:
    """The files of one ODK Validate run (one Java start) that it found invalid."""
    if not paths:
        return []
    result = subprocess.run(
        [_java(), "-Djava.awt.headless=true", "-jar", str(ODK_VALIDATE), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode == 0:
        return []
    listed = _FAILED.search(result.stdout + "\n" + result.stderr)
    failed = [Path(line.strip()) for line in (listed[1] if listed else "").splitlines() if line.strip()]
    return failed or paths  # no list: an error before any file was read, so none counts as checked


def _odk_validate_one(path: Path) -> str:
    """ODK Validate's message about one file, run alone so that its output is about this file only."""
    result = subprocess.run(
        [_java(), "-Djava.awt.headless=true", "-jar", str(ODK_VALIDATE), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("\tat ")]
    return "\n".join(lines[:12]) or f"exit status {result.returncode}"


def _java() -> str:
    return shutil.which("java") or "java"
