"""The one error base of the sync package; the shell maps these to HTTP problems, so none carries a status."""

from forms.errors import Problem


class SyncError(Exception):
    """Base of every error raised by `sync`; `problems` is its one located problem, made of its
    `loc`, `code` and `message`."""

    code = "sync_error"

    def __init__(self, message: str, loc: list[str | int] | None = None) -> None:
        self.message = message
        self.loc: list[str | int] = loc or []
        self.problems = [Problem(loc=self.loc, code=self.code, message=message)]
        super().__init__(message)


class MalformedBatch(SyncError):
    """The body is not a batch at all (bad syntax, not an object, no submissions list)."""

    code = "malformed_batch"


class TooManyItems(SyncError):
    """More submissions than one request may carry; the tablet should split the batch."""

    code = "too_many_items"

    def __init__(self, count: int, limit: int) -> None:
        self.count = count
        self.limit = limit
        super().__init__(f"{count} submissions in one batch; at most {limit} are allowed", ["submissions"])


class UnsupportedMedia(SyncError):
    """A media type the batch decoder does not speak (only JSON and MessagePack)."""

    code = "unsupported_media"


class InvalidArea(SyncError):
    """A project area that is not a valid (Multi)Polygon, so points cannot be checked against it."""

    code = "invalid_area"


class BadPath(SyncError):
    """A field path that does not lead anywhere in the answers (e.g. a repeat index past the end)."""

    code = "bad_path"


class InvalidChoice(SyncError):
    """A conflict resolution that names an unknown path, a bad choice, or leaves a field undecided."""

    code = "invalid_choice"


class InvalidRule(SyncError):
    """A survivorship rule the package does not know."""

    code = "invalid_rule"
