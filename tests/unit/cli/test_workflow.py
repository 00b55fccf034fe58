"""The example GitHub workflow gates the candidate against the production model it names,
with flags the gate accepts, and uses no variable it does not declare."""

import re
import shlex

import yaml

from robustfx.cli import commands
from robustfx.cli.main import build_parser
from tests.helpers.paths import REPO

WORKFLOW = REPO / ".github" / "workflows" / "model-gate.yml"


def _gate_step():
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["gate"]
    step = next(s for s in job["steps"] if "robustfx gate" in s.get("run", ""))
    return job, step["run"]


def test_the_gate_step_passes_the_production_baseline_and_the_standard_suite():
    job, script = _gate_step()
    assert "PRODUCTION_MODEL_DIR" in job["env"]
    assert '--baseline "$PRODUCTION_MODEL_DIR"' in script
    command = script[script.index(".venv/bin/robustfx gate") :].replace("\\\n", " ")
    words = shlex.split(command.replace('"${baseline[@]}"', "--baseline /models/prod"))
    config = commands.gate_config(build_parser().parse_args(words[1:]))  # every flag accepted
    assert config.evaluation.suite == "standard" and config.baseline == "/models/prod"
    assert config.evaluation.thresholds.min_worst_case_accuracy == 0.75


def test_every_variable_the_workflow_uses_is_declared():
    job, _ = _gate_step()
    text = WORKFLOW.read_text()
    used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", text)) - {"GITHUB_STEP_SUMMARY"}
    assert used <= set(job["env"]), used - set(job["env"])
