"""`robustfx gate` as the gate tests call it: on one model, its summary JSON and its recorded
outputs (report, model card) under a directory of the test's own."""

import json
import pathlib
from typing import Optional, Tuple

from robustfx.cli import main as cli


def run_gate(data_dir: str, model_dir, directory: pathlib.Path, *flags) -> Tuple[int, pathlib.Path]:
    """Runs the gate with ``flags``; returns (its exit code, the path of its summary JSON)."""
    summary = directory / "gate.json"
    code = cli.main(
        ["gate", "--data-dir", data_dir, "--model", str(model_dir),
         "--summary-json", str(summary), "--output-dir", str(directory / "gate"), *flags]
    )  # fmt: skip
    return code, summary


def summary_of(path: pathlib.Path) -> Optional[dict]:
    """The gate's summary JSON; None when the gate wrote none (it stopped before judging)."""
    return json.loads(path.read_text()) if path.exists() else None
