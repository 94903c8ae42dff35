"""The one error base of the forms package, and the one located problem of the whole code base.

`Problem` sits here, at the bottom of the core, so forms, sync and the shell's problem documents
all speak of a problem in the same type; the shell maps the errors to HTTP problems.
"""

import msgspec


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """One located problem; loc is a JSON path, or [sheet, row, column] for XLSForm."""

    loc: list[str | int]
    code: str
    message: str


class FormsError(Exception):
    """Base of every error raised by `forms`; carries no HTTP status on purpose.

    `problems` locates what is wrong; it is empty when the message is all there is to say.
    """

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems: list[Problem] = problems or []
        super().__init__(message)


class InvalidDefinition(FormsError):
    """A definition that cannot be used; lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem], warnings: list[str] | None = None) -> None:
        self.warnings = warnings or []
        first = problems[0].message if problems else "invalid form definition"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more, problems)


class UnreadableFile(FormsError):
    """An upload that is not a readable XLSForm workbook at all (corrupt, .xls, zip bomb)."""

    def __init__(self, message: str, code: str = "unreadable_file") -> None:
        super().__init__(message, [Problem(loc=[], code=code, message=message)])
