"""The one error base of the forms package; the shell maps it to HTTP problems."""

import msgspec


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """One located problem; loc is a JSON path, or [sheet, row, column] for XLSForm."""

    loc: list[str | int]
    code: str
    message: str


class FormsError(Exception):
    """Base of every error raised by `forms`; carries no HTTP status on purpose."""


class InvalidDefinition(FormsError):
    """A definition that cannot be used; lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem], warnings: list[str] | None = None) -> None:
        self.problems = problems
        self.warnings = warnings or []
        first = problems[0].message if problems else "invalid form definition"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)


class UnreadableFile(FormsError):
    """An upload that is not a readable XLSForm workbook at all (corrupt, .xls, zip bomb)."""

    def __init__(self, message: str, code: str = "unreadable_file") -> None:
        self.problems = [Problem(loc=[], code=code, message=message)]
        super().__init__(message)
