"""The indicators of an index and how they are weighted, decoded with every problem located.

API.md's bare list of indicators and the `{"indicators": [...], "aggregation", "min_coverage"}`
object are both accepted. Every number has a range: weight in (0, 1000], min_records in
[1, 1,000,000], target > 0 and finite, bounds finite with lo < hi, min_coverage in [0, 1].
"""

import math
import re
import unicodedata
from typing import Annotated, Any, Literal

import msgspec

from cityindex.errors import CityIndexError, summary
from forms.errors import Problem

MAX_INDICATORS = 200
MAX_WHERE_PATHS = 20
MAX_WHERE_VALUES = 200
NUMBER_AGGREGATES = frozenset({"mean", "sum", "median"})

Key = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$", max_length=255)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Path = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Value = Annotated[str, msgspec.Meta(max_length=1000)]
Label = (
    Text
    | Annotated[
        dict[Annotated[str, msgspec.Meta(min_length=1, max_length=35)], Text],
        msgspec.Meta(min_length=1, max_length=50),
    ]
)
Aggregate = Literal["count", "density_km2", "share", "mean", "sum", "median"]


class Indicator(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One figure per area from one form's clean records, scored 0–100."""

    key: Key
    label: Label
    form: Key
    aggregate: Aggregate
    field: Path | None = None
    """The numeric field (its path, `group/field`) that mean, sum and median read."""
    where: (
        Annotated[
            dict[
                Path, Value | Annotated[list[Value], msgspec.Meta(min_length=1, max_length=MAX_WHERE_VALUES)]
            ],
            msgspec.Meta(max_length=MAX_WHERE_PATHS),
        ]
        | None
    ) = None
    """Only records whose answer at each path is the value or one of the values (every path must
    hold; a select_multiple holds if it contains one). Compared as text: a number or true/false given
    here becomes its text on decoding, and 3 matches an answer of 3 or 3.0 (see `text`)."""
    direction: Literal["higher_better", "lower_better"] = "higher_better"
    weight: Annotated[float, msgspec.Meta(gt=0, le=1000)] = 1.0
    group: Text | None = None
    """A sub-index it belongs to, such as `society/safe` (UN-Habitat's domain/objective)."""
    normalization: Literal["minmax", "target"] = "minmax"
    target: float | None = None
    min_records: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1
    """Below this many records (see `compute`) an area's value is null."""
    bounds: tuple[float, float] | None = None
    """Fixed min-max goalposts (lo, hi), so scores stay comparable between survey rounds."""


class IndexSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    indicators: list[Indicator]
    aggregation: Literal["arithmetic", "geometric"] = "arithmetic"
    min_coverage: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5
    """The share of the total weight an area's present indicators need for it to get an index."""


class SettingsError(CityIndexError):
    """Index settings that cannot be used; `problems` locate each (["indicators", 2, "field"])."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(summary(problems, "invalid indicators"), problems)


def decode_settings(raw: Any) -> IndexSettings:
    """Settings from JSON-decoded input (a list of indicators or the settings object)."""
    problems: list[Problem] = []
    if isinstance(raw, list):
        raw = {"indicators": raw}
    if not isinstance(raw, dict):
        message = "indicators must be a list, or an object with an `indicators` list"
        raise SettingsError([Problem(loc=[], code="invalid_type", message=message)])
    items = raw.get("indicators")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_INDICATORS:
        message = f"`indicators` must be a list of 1 to {MAX_INDICATORS} indicators"
        raise SettingsError([Problem(loc=["indicators"], code="invalid_indicators", message=message)])
    top = {k: v for k, v in raw.items() if k != "indicators"}
    top["indicators"] = []
    try:
        msgspec.convert(top, IndexSettings)
    except msgspec.ValidationError as error:
        problems.append(_problem([], error))
    indicators: list[Indicator] = []
    first_of: dict[str, int] = {}
    for i, item in enumerate(items):
        loc: list[str | int] = ["indicators", i]
        key = item.get("key") if isinstance(item, dict) else None
        if isinstance(key, str) and key in first_of:
            message = f"key {key!r} is already indicator {first_of[key]}'s"
            problems.append(Problem(loc=[*loc, "key"], code="duplicate_key", message=message))
        elif isinstance(key, str):
            first_of[key] = i
        try:
            indicator = msgspec.convert(_where_as_text(item), Indicator)
        except msgspec.ValidationError as error:
            problems.append(_problem(loc, error))
            continue
        problems += [msgspec.structs.replace(p, loc=[*loc, *p.loc]) for p in check_indicator(indicator)]
        indicators.append(indicator)
    if problems:
        raise SettingsError(problems)
    return msgspec.structs.replace(msgspec.convert(top, IndexSettings), indicators=indicators)


def text(answer: Any) -> str:
    """An answer as `where` compares it: text as is, 3 and 3.0 as "3", True as "true"."""
    if type(answer) is str:
        return answer
    if isinstance(answer, bool):
        return "true" if answer else "false"
    if isinstance(answer, float) and answer.is_integer():
        return str(int(answer))
    return str(answer)


def _where_as_text(item: Any) -> Any:
    """The indicator with the numbers and booleans of its `where` as text (others left to fail)."""
    if not isinstance(item, dict) or not isinstance(item.get("where"), dict):
        return item

    def plain(value: Any) -> Any:
        scalar = isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value))
        return text(value) if scalar else value

    where = {
        path: [plain(v) for v in wanted] if isinstance(wanted, list) else plain(wanted)
        for path, wanted in item["where"].items()
    }
    return {**item, "where": where}


def check_indicator(ind: Indicator) -> list[Problem]:
    """What the types alone cannot say about one indicator; locs are relative to it."""
    problems = []

    def bad(loc: list[str | int], code: str, message: str) -> None:
        problems.append(Problem(loc=loc, code=code, message=f"indicator {ind.key!r}: {message}"))

    if ind.aggregate in NUMBER_AGGREGATES and ind.field is None:
        bad(["field"], "missing_field", f"{ind.aggregate} needs the `field` whose numbers it reads")
    if ind.aggregate not in NUMBER_AGGREGATES and ind.field is not None:
        bad(["field"], "unused_field", f"{ind.aggregate} counts records; `field` is for mean, sum and median")
    if ind.normalization == "target":
        if ind.target is None:
            bad(["target"], "missing_target", "normalization `target` needs a `target` value")
        elif not (math.isfinite(ind.target) and ind.target > 0):
            bad(["target"], "invalid_target", "`target` must be a finite number above 0")
        if ind.bounds is not None:
            bad(["bounds"], "unused_bounds", "`bounds` are min-max goalposts; this indicator uses a target")
    elif ind.target is not None:
        bad(["target"], "unused_target", '`target` needs `"normalization": "target"`')
    if ind.bounds is not None:
        lo, hi = ind.bounds
        if not (math.isfinite(lo) and math.isfinite(hi)):
            bad(["bounds"], "invalid_bounds", "bounds must be finite numbers")
        elif not lo < hi:
            bad(["bounds"], "invalid_bounds", f"bounds must be [lo, hi] with lo < hi, not [{lo:g}, {hi:g}]")
    texts = [(["group"], ind.group)] if ind.group is not None else []
    texts += [(["label"], ind.label)] if isinstance(ind.label, str) else []
    texts += (
        [(["label", lang], text) for lang, text in ind.label.items()] if isinstance(ind.label, dict) else []
    )
    for loc, text in texts:
        if any(unicodedata.category(c) == "Cc" for c in text):
            bad(loc, "invalid_text", "text must not contain control characters")
    return problems


_AT = re.compile(r" - at `\$(.*)`$")


def _problem(loc: list[str | int], error: msgspec.ValidationError) -> Problem:
    """msgspec's message (`Expected ... - at `$.weight``) as a located Problem."""
    message = str(error)
    match = _AT.search(message)
    path: list[str | int] = []
    for part in re.findall(r"\.[^.\[]+|\[[^\]]*\]", match.group(1) if match else ""):
        if part.startswith("."):
            path.append(part[1:])
        elif part[1:-1].isdigit():
            path.append(int(part[1:-1]))
        # `[...]`: msgspec does not name a dict's key; the dict's own path is as close as it gets
    text = message[: match.start()] if match else message
    unknown = re.match(r"Object contains unknown field `([^`]*)`", text)
    if unknown:
        return Problem(loc=[*loc, *path, unknown.group(1)], code="unknown_field", message=text)
    return Problem(loc=[*loc, *path], code="invalid_value", message=text)
