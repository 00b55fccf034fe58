"""What a `robustfx kfp run-local` run concluded: the same summary as `robustfx run` prints.

Read from the run's own outputs as the executors wrote them: the RobustnessEvaluator's
``metrics.json`` and report, its dataset from the task's ``model_info`` parameter, and the
Pusher's ``pushed_model`` metadata (``pushed``, ``pushed_destination``, ``push_skipped``).
"""

import json
import os
from typing import Optional

from tfx.utils import io_utils

from robustfx.components.atomic_pusher import PUSH_SKIPPED
from robustfx.components.robustness_evaluator import spec as evaluator_spec
from robustfx.kubeflow.local.outcome import LocalRun
from robustfx.pipeline.production import PUSHER_ID, evaluator_id
from robustfx.pipeline.run_summary import RunSummary, summary_from_result


def summarize_local_run(run: LocalRun) -> Optional[RunSummary]:
    """The run's summary; None when the spec has no RobustnessEvaluator that produced an
    evaluation."""
    evaluator = run.task(evaluator_id())
    evaluations = evaluator.outputs.get(evaluator_spec.EVALUATION_KEY) if evaluator else None
    if not evaluations:
        return None
    evaluation = evaluations[0]
    path = os.path.join(evaluation["uri"], evaluator_spec.METRICS_FILE)
    result = json.loads(io_utils.read_string_file(path))
    info = json.loads(evaluator.values.get(evaluator_spec.MODEL_INFO_KEY) or "{}")
    pushed_model, push_skipped = None, ""
    pusher = run.task(PUSHER_ID)
    for pushed in (pusher.outputs.get("pushed_model") or []) if pusher else []:
        metadata = pushed.get("metadata") or {}
        if metadata.get("pushed") == 1:
            pushed_model = metadata.get("pushed_destination")
        push_skipped = metadata.get(PUSH_SKIPPED, "")
    return summary_from_result(
        info.get("dataset", {}).get("name", ""),
        result,
        evaluation["metadata"].get("report") or None,
        pushed_model,
        push_skipped,
    )
