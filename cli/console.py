"""What a run shows a person, and where everything else goes.

The console gets one line per component as it ends (its wall time, and whether it ran or
came from the cache), progress of the long work (training epochs, the attack suite: a tqdm
bar with rate and time left on a terminal; a few plain lines otherwise, with no control
codes), then the summary. Everything TFX, Beam, absl, TensorFlow and Python's warnings log
goes to a log file under the pipeline root; ``--verbose`` shows it on the console too and
``--quiet`` shows only the summary.
"""

import datetime
import logging
import os
import sys
import time
from typing import Dict, Optional, TextIO

from robustfx.base.progress import PROGRESS_LOGGER

_RUNNING, _FINISHED, _CACHED = "Component %s is running.", "Component %s is finished.", "cached"
QUARTERS = 4  # plain progress lines per task when the console is not a terminal


class _Progress:
    """One task's progress: a tqdm bar on a terminal, quarter lines otherwise."""

    def __init__(self, stream: TextIO, name: str, total: int, unit: str):
        self._stream, self._name, self._total, self._unit = stream, name, total, unit
        self._start, self._shown, self._bar = time.monotonic(), 0, None
        if stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=name, unit=unit, file=stream, leave=True)

    def update(self, done: int, detail: str) -> bool:
        """Shows ``done`` of the total; True when the task is complete."""
        if self._bar is not None:
            self._bar.update(done - self._bar.n)
            self._bar.set_postfix_str(detail, refresh=True)
            if done >= self._total:
                self._bar.close()
        else:
            quarter = done * QUARTERS // self._total
            if quarter > self._shown or done >= self._total:
                self._shown = quarter
                elapsed = time.monotonic() - self._start
                rate = done / elapsed if elapsed > 0 else 0.0
                left = (self._total - done) / rate if rate else 0.0
                self._stream.write(
                    f"  {self._name}: {done}/{self._total} {self._unit} ({rate:.1f}/s, "
                    f"{left:.0f} s left){'; ' + detail if detail else ''}\n"
                )
                self._stream.flush()
        return done >= self._total


class ConsoleHandler(logging.Handler):
    """Turns the log records a run emits into the console lines described above."""

    def __init__(self, stream: Optional[TextIO] = None):
        super().__init__(logging.INFO)
        self._fixed = stream
        self._started: Dict[str, float] = {}
        self._cached: Dict[str, bool] = {}
        self._current: Optional[str] = None
        self._tasks: Dict[str, _Progress] = {}

    @property
    def _stream(self) -> TextIO:
        return self._fixed or sys.stdout  # looked up late: redirections apply

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if record.name == PROGRESS_LOGGER and hasattr(record, "total"):
                self._progress(record)
            elif record.msg == _RUNNING:
                self._current = record.args[0]
                self._started[self._current] = time.monotonic()
                self._cached[self._current] = False
            elif isinstance(record.msg, str) and record.msg.startswith("A cached execution"):
                if self._current:
                    self._cached[self._current] = True
            elif record.msg == _FINISHED:
                node = record.args[0]
                seconds = time.monotonic() - self._started.pop(node, time.monotonic())
                how = _CACHED if self._cached.pop(node, False) else "ran"
                self._stream.write(f"{node:<32} {how:<7} {seconds:6.1f} s\n")
                self._stream.flush()
        except Exception:  # the console must never break a run
            self.handleError(record)

    def _progress(self, record: logging.LogRecord) -> None:
        task = record.task
        if task not in self._tasks:
            self._tasks[task] = _Progress(self._stream, task, record.total, record.unit)
        if self._tasks[task].update(record.done, record.detail):
            del self._tasks[task]


def log_path(pipeline_root: str) -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join(pipeline_root, "logs", f"run-{stamp}.log")


def configure(path: str, verbose: bool = False, quiet: bool = False) -> None:
    """Sends every log record to ``path``; the console gets the component lines and the
    progress (or everything with ``verbose``, or nothing with ``quiet``)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):  # absl's and basicConfig's stderr handlers
        root.removeHandler(handler)
    root.setLevel(logging.INFO)
    to_file = logging.FileHandler(path)
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(to_file)
    for name in ("tensorflow", "absl"):  # their own stderr handlers would bypass the file
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # absl's verbosity flag, not just its logger's level: TensorFlow silences absl around
    # some calls and then restores the flag's value (WARNING unless set), which would hide
    # TFX's component lines for the rest of the run.
    import absl.logging

    absl.logging.set_verbosity(absl.logging.INFO)
    logging.captureWarnings(True)
    if verbose:
        root.addHandler(logging.StreamHandler(sys.stderr))
    elif not quiet:
        root.addHandler(ConsoleHandler())
