"""Session state built once per test run, however many pytest-xdist workers share it.

``scripts/test`` runs the suite on two workers (one a core). A session fixture runs once
per worker, so an expensive one (the shared e2e run) would run twice, and two copies of
the small dataset would give the workers different data directories. ``built_once`` builds
the state in the directory that every worker's temporary directory lies in, under a file
lock: the first worker to ask builds it, any other waits for it and reads the same result.
Without xdist it builds in a directory of its own, as a session fixture always did.
"""

import fcntl
import os
import pickle
import shutil
from typing import Callable, TypeVar

T = TypeVar("T")


def built_once(tmp_path_factory, name: str, build: Callable[..., T]) -> T:
    """``build(directory)``'s result, built once per test run.

    Args:
      tmp_path_factory: pytest's session temp factory.
      name: the state's name, unique in the run (its directory and lock are named after it).
      build: makes the state in the empty directory it is given; its result must pickle.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return build(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent  # every worker's basetemp lies in it
    directory, result = shared / name, shared / f"{name}.pickle"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not result.exists():
            shutil.rmtree(directory, ignore_errors=True)  # a worker's failed attempt
            directory.mkdir()
            value = build(directory)
            result.write_bytes(pickle.dumps(value))
        return pickle.loads(result.read_bytes())
