"""Runs one call in a child process watched for wall time and resident memory.

A model that passes the graph check can still be slow or greedy on purpose. ``run_within``
starts the call in a fresh process ("spawn": nothing of the parent's TensorFlow state is
shared), samples the wall time and the resident memory of that process and all of its
descendants (Beam's workers included) every ``POLL_SECONDS``, and kills the whole tree at
the first breach. The call's result, or its exception, comes back through a pipe.
"""

import logging
import multiprocessing
import pickle
import time
from typing import Any, Callable, Optional

import psutil

from robustfx.base.limits_config import MEMORY_LIMIT_FLAG, TIME_LIMIT_FLAG, LimitsConfig

POLL_SECONDS = 0.2
_MB = 1024 * 1024
# The child's log lines, marked as coming from the watched evaluation.
CHILD_LOG_FORMAT = "%(asctime)s %(levelname)s [watched] %(message)s"


class LimitExceededError(RuntimeError):
    """The watched call went past a limit and was stopped: the model is refused (exit 2)."""


def breach(limits: LimitsConfig, seconds: float, resident_mb: float) -> Optional[str]:
    """Which limit the sample goes past, in words, or None."""
    if limits.time_limit is not None and seconds > limits.time_limit:
        return f"it ran {seconds:.1f} s, past {TIME_LIMIT_FLAG} {limits.time_limit:g}"
    if limits.memory_limit is not None and resident_mb > limits.memory_limit:
        return (
            f"its processes held {resident_mb:.0f} MB resident, past {MEMORY_LIMIT_FLAG} "
            f"{limits.memory_limit}"
        )
    return None


def _resident_mb(process: psutil.Process) -> float:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:  # it ended between the listing and the sample
            continue
    return total / _MB


def _stop(process: psutil.Process) -> None:
    """Kills the process and every descendant, and waits for them."""
    try:
        members = [*process.children(recursive=True), process]
    except psutil.Error:
        return
    for member in members:
        try:
            member.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(members, timeout=10)


def _portable(error: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else its type and message."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - any pickling failure is the same case
        return RuntimeError(f"{type(error).__name__}: {error}")


def _child(connection, log_level: int, function: Callable, args: tuple) -> None:
    logging.basicConfig(level=log_level, format=CHILD_LOG_FORMAT, force=True)
    try:
        message = ("result", function(*args))
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the parent
        message = ("error", _portable(error))
    connection.send(message)
    connection.close()


def run_within(limits: LimitsConfig, what: str, function: Callable, *args: Any) -> Any:
    """``function(*args)`` in a watched child process.

    Args:
      limits: the wall time and resident memory the child (with its descendants) may use.
      what: the work, for the message, e.g. "evaluating model DIR".
      function, args: a module-level function and arguments that pickle.

    Returns:
      What ``function`` returned.

    Raises:
      LimitExceededError: a limit was passed; the child and its descendants were killed.
      RuntimeError: the child ended without a result (killed by the system, a crash).
      Whatever ``function`` raised, re-raised here.
    """
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child, args=(sender, logging.getLogger().getEffectiveLevel(), function, args)
    )
    start = time.monotonic()
    child.start()
    sender.close()
    watched = psutil.Process(child.pid)
    try:
        while not receiver.poll(POLL_SECONDS):  # also wakes when the child's end closes
            problem = breach(limits, time.monotonic() - start, _resident_mb(watched))
            if problem:
                _stop(watched)
                raise LimitExceededError(
                    f"{what} was stopped and the model refused: {problem}. Raise the limit "
                    "if the evaluation is legitimately this costly."
                )
        try:
            kind, value = receiver.recv()
            child.join(timeout=30)  # let it tear TensorFlow down; killed after that
        except EOFError:
            child.join()
            raise RuntimeError(
                f"{what}: its process ended with exit code {child.exitcode} before it "
                "reported a result (killed by the system, e.g. out of memory?)"
            ) from None
    finally:
        if child.is_alive():
            _stop(watched)
        child.join()
        receiver.close()
    if kind == "error":
        raise value
    return value
