"""Progress of long work (training epochs, the attack suite), reported through the log so
that every layer can report it and only the command line decides how it is shown."""

import logging

PROGRESS_LOGGER = "robustfx.progress"


def report_progress(task: str, done: int, total: int, unit: str, detail: str = "") -> None:
    """``done`` of ``total`` ``unit`` of ``task``; ``detail`` is shown beside it."""
    logging.getLogger(PROGRESS_LOGGER).info(
        "%s: %d/%d %s%s",
        task,
        done,
        total,
        unit,
        f"; {detail}" if detail else "",
        extra={"task": task, "done": done, "total": total, "unit": unit, "detail": detail},
    )
