"""One run at a time per pipeline root.

Two local runs on the same root would interleave writes to one SQLite ML Metadata store and
race for the same baseline. The first run takes an exclusive lock on ``<root>/.run.lock``;
a second run fails at once with a message naming the holder. The kernel drops the lock when
its process dies, even by SIGKILL, so a crashed run never blocks the next one.
"""

import contextlib
import fcntl
import os
from typing import Iterator

from robustfx.base.validation import ConfigError

LOCK_FILE = ".run.lock"


class PipelineRootBusy(ConfigError):
    """Another run holds the pipeline root."""


@contextlib.contextmanager
def exclusive_run(pipeline_root: str) -> Iterator[None]:
    os.makedirs(pipeline_root, exist_ok=True)
    path = os.path.join(pipeline_root, LOCK_FILE)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise PipelineRootBusy(
                f"pipeline root {pipeline_root} is in use by a running pipeline ({holder}): "
                "wait for it to finish, or pass another --pipeline-root"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
