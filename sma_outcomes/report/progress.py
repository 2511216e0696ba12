"""Progress of a long report on stderr: the stage, and which patients are done.

On a terminal a tqdm bar; anywhere else (a log file, a pipe, a CI job)
plain lines, one per stage and one at most every :data:`INTERVAL` seconds
while patient figures are drawn, with no control characters. ``quiet``
silences both.

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> p = Progress("cohort", stream=out, interval=0)
>>> p.stage("reading")
>>> p.patients(3)
>>> p.advance(3)
>>> p.close()
>>> print(out.getvalue(), end="")
sma-outcomes: cohort: reading
sma-outcomes: cohort: patient figures: 3 of 3 patients done
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["Progress", "INTERVAL"]

#: Seconds between two plain progress lines about the same stage.
INTERVAL = 10.0


class Progress:
    """Stage and patient progress of one report (see the module docstring).

    Parameters
    ----------
    name : str
        What is being reported (the input's name).
    enabled : bool
        False: print nothing (``--quiet``).
    stream : file, optional
        Default ``sys.stderr``.
    interval : float
        Seconds between plain lines while patients are drawn.
    """

    def __init__(self, name: str, *, enabled: bool = True, stream: TextIO | None = None,
                 interval: float = INTERVAL) -> None:
        self.name = name
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.tty = bool(enabled and getattr(self.stream, "isatty", lambda: False)())
        self._bar: Any = None
        self._total = 0
        self._done = 0
        self._last = 0.0

    def _line(self, text: str) -> None:
        print(f"sma-outcomes: {self.name}: {text}", file=self.stream, flush=True)

    def stage(self, text: str) -> None:
        """A new stage begins (reading, tables, models, figures, documents)."""
        if not self.enabled:
            return
        self._close_bar()
        if self.tty:
            self.stream.write(f"\rsma-outcomes: {self.name}: {text}\x1b[K")
            self.stream.flush()
        else:
            self._line(text)

    def patients(self, total: int) -> None:
        """Per-patient figures begin: ``total`` patients."""
        self._total, self._done, self._last = total, 0, time.monotonic()
        if not self.enabled:
            return
        if self.tty:
            from tqdm.auto import tqdm

            self.stream.write("\n")
            self._bar = tqdm(total=total, desc=f"{self.name}: patient figures", unit="patient",
                             file=self.stream, leave=False)

    def advance(self, n: int = 1) -> None:
        """``n`` more patients are done."""
        self._done += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        if self._done >= self._total or now - self._last >= self.interval:
            self._last = now
            self._line(f"patient figures: {self._done} of {self._total} patients done")

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def close(self) -> None:
        """The report is written (or failed): leave the terminal clean."""
        self._close_bar()
        if self.enabled and self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
