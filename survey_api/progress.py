"""Progress of long work on a terminal: a bar (tqdm) when stderr is one, else a plain line now and then."""

from __future__ import annotations

import sys
import time
from typing import TextIO

PLAIN_EVERY_S = 5.0


class Progress:
    """`update(done)` as work goes on, `close()` at the end; prints to stderr only."""

    def __init__(self, what: str, total: int, unit: str, stream: TextIO | None = None) -> None:
        self.what, self.total, self.unit = what, total, unit
        self.stream = stream or sys.stderr
        self._bar = None
        self._last = 0.0
        self._done = 0
        if self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=what, unit=f" {unit}", file=self.stream, dynamic_ncols=True)
        else:
            self._line(f"{what}: {total} {unit} to go")

    def update(self, done: int) -> None:
        step, self._done = done - self._done, done
        if self._bar is not None:
            self._bar.update(step)
        elif time.monotonic() - self._last >= PLAIN_EVERY_S:
            self._line(f"{self.what}: {done} of {self.total} {self.unit}")

    def close(self, summary: str) -> None:
        if self._bar is not None:
            self._bar.close()
        self._line(summary)

    def _line(self, text: str) -> None:
        self._last = time.monotonic()
        print(text, file=self.stream, flush=True)


class Later:
    """A progress bar made at the first report, once the total is known (`update(done, total)`)."""

    def __init__(self, what: str, unit: str) -> None:
        self.what, self.unit = what, unit
        self.bar: Progress | None = None

    def update(self, done: int, total: int) -> None:
        self.bar = self.bar or Progress(self.what, total, self.unit)
        self.bar.update(done)

    def close(self, summary: str) -> None:
        if self.bar is not None:
            self.bar.close(summary)
        else:
            print(summary, file=sys.stderr, flush=True)
