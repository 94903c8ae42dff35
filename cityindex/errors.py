"""The one error base of the cityindex package."""

from forms.errors import Problem


class CityIndexError(ValueError):
    """Base of every error raised by `cityindex`; `problems` lists every problem found, not the first."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems: list[Problem] = problems or []
        super().__init__(message)


def summary(problems: list[Problem], what: str) -> str:
    """`what: first message (and N more)` for an error's own message."""
    if not problems:
        return what
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{what}: {problems[0].message}{more}"
