"""The console: a line per component with its time and cache state, progress as a few plain
lines (no control codes) when not on a terminal, and a tqdm bar on one."""

import io
import logging

from robustfx.base.progress import report_progress
from robustfx.cli.console import ConsoleHandler


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _logged(stream, emit):
    handler = ConsoleHandler(stream)
    root, absl = logging.getLogger(), logging.getLogger("absl")
    root.addHandler(handler)
    levels = root.level, absl.level
    root.setLevel(logging.INFO)
    absl.setLevel(logging.INFO)  # TensorFlow may have left absl at WARNING
    try:
        emit()
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        absl.setLevel(levels[1])
    return stream.getvalue()


def _components():
    absl = logging.getLogger("absl")
    absl.info("Component %s is running.", "Transform")
    absl.info("Component %s is finished.", "Transform")
    absl.info("Component %s is running.", "Trainer")
    absl.info("A cached execution %d is used.", 12)
    absl.info("Component %s is finished.", "Trainer")
    absl.info("something TFX says that the console does not show")


def test_one_line_per_component_with_its_cache_state():
    lines = _logged(io.StringIO(), _components).splitlines()
    assert [line.split()[:2] for line in lines] == [["Transform", "ran"], ["Trainer", "cached"]]
    assert all(line.endswith(" s") for line in lines)


def test_progress_off_a_terminal_is_a_few_plain_lines():
    def emit():
        for done in range(1, 101):
            report_progress("attack suite", done, 100, "examples")

    text = _logged(io.StringIO(), emit)
    assert len(text.splitlines()) == 4  # quarters
    assert text.splitlines()[-1].startswith("  attack suite: 100/100 examples (")
    assert "\r" not in text and "\x1b" not in text


def test_progress_on_a_terminal_is_a_bar_with_rate_and_time_left():
    def emit():
        for done in range(1, 16):
            report_progress("training", done, 15, "epochs", f"loss {1 / done:.3f}")

    text = _logged(_Terminal(), emit)
    assert "\r" in text and "15/15" in text and "epochs/s" in text and "loss 0.067" in text


def test_rates_count_from_the_start_of_the_task_not_its_first_update():
    import time

    def emit():
        report_progress("training", 0, 1, "epochs")  # run_fn reports the start
        time.sleep(0.2)
        report_progress("training", 1, 1, "epochs")

    (line,) = _logged(io.StringIO(), emit).splitlines()
    rate = float(line.split("(")[1].split("/s")[0])
    assert 0 < rate <= 1 / 0.2 + 0.5, line  # about 5 epochs/s, not thousands
