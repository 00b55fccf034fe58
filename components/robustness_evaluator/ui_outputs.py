"""The verdict as the KFP (and Vertex) run page shows it: the headline figures on a Metrics
artifact (``system.Metrics`` in the compiled spec: a table, comparable across runs) and the
report on a file artifact (``system.HTML``: rendered in the page), see
``kubeflow/ui_artifacts``. Locally they are two more artifacts of the RobustnessEvaluator."""

import json
import os
from typing import Optional

from tfx import types
from tfx.dsl.io import fileio
from tfx.utils import io_utils

from robustfx.robustness.verdict.outcome import Verdict

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"


def headline(verdict: Verdict) -> dict:
    """Every headline figure that was measured (clean accuracy, the worst case, the certified
    accuracy, the corruption mean and worst) and the blessing, as numbers."""
    values = {name: e.value for name, e in verdict.candidate.estimates().items()}
    values["blessed"] = 1.0 if verdict.blessed else 0.0
    return {key: float(value) for key, value in values.items()}


def record_metrics(artifact: types.Artifact, verdict: Verdict) -> None:
    """The headline figures as the artifact's metadata (what KFP's UI lists) and its file."""
    values = headline(verdict)
    for key, value in values.items():
        artifact.set_float_custom_property(key, value)
    fileio.makedirs(artifact.uri)
    io_utils.write_string_file(
        os.path.join(artifact.uri, METRICS_FILE), json.dumps(values, indent=2, sort_keys=True)
    )


def record_report(artifact: types.Artifact, report_path: Optional[str]) -> None:
    """The report's HTML as the artifact: a file at its URI, which KFP's UI renders; inside the
    directory when the orchestrator made one there (TFX's local runner)."""
    if not report_path:
        return
    target = artifact.uri
    if fileio.isdir(target):
        target = os.path.join(target, REPORT_FILE)
    io_utils.write_string_file(target, io_utils.read_string_file(report_path))
