"""Time to verdict of ``robustfx gate --decide-early`` (the default) over ``--full``, side by
side in one run, each a fresh process as CI starts it (imports, Beam, model loading and
tracing included), on the same model, digits and flags; with both verdicts, the round each
rule was decided at, and the figures each run reported.

The default target is CI's: the model of the suite's shared e2e run (``robustfx run`` with
``tests/helpers/pipeline_runs.RUN_FLAGS``, 2 epochs on 800 digits; trained here once) judged
as ``.ci/run`` judges it: the standard suite, the full corruption set and CI's floors, on the
1,000 test digits of mnist_5k.

  .venv/bin/python benchmarks/decide_early.py [--pipeline-root ROOT | --model DIR]
      [--gate-flags "FLAGS"] [--name KEY] [--output F]

``--gate-flags`` replaces CI's flags, e.g. a floor within one interval width of the model's
figure (a close call, which runs every round), or the defaults (``--suite standard``).

Run it on an otherwise idle machine: the figures are wall times.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from typing import Dict, List, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# .ci/run's gate: the standard suite, the full corruption set (the gate's default), its floors.
CI_FLAGS = (
    "--suite", "standard", "--threshold-policy", "lower_bound",
    "--threshold", "clean=0.55", "--threshold", "worst_case=0.12",
    "--threshold", "corruption_mean=0.45", "--threshold", "corruption_worst=0.15",
)  # fmt: skip
FIGURES = ("clean_accuracy", "worst_case_robust_accuracy", "corruption_mean", "corruption_worst")


def _robustfx(*arguments: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, "-m", "robustfx.cli.main", *arguments]
    return subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)


def ci_model(workdir: str) -> List[str]:
    """The gate's flags naming a model trained as CI's shared e2e run trains it (trained
    once under ``workdir/ci-e2e``): ``--pipeline-root``, as .ci/run gives it."""
    sys.path.insert(0, REPO)
    from tests.helpers.datasets import write_small_mnist
    from tests.helpers.pipeline_runs import PIPELINE_NAME, RUN_FLAGS

    root = os.path.join(workdir, "ci-e2e")
    pipeline_root = os.path.join(root, "pipeline_root")
    if not os.path.isfile(os.path.join(pipeline_root, "metadata.sqlite")):
        data_dir = os.path.join(root, "tfds")
        write_small_mnist(data_dir)
        done = _robustfx(
            "run", "--data-dir", data_dir, "--pipeline-name", PIPELINE_NAME,
            "--pipeline-root", pipeline_root, "--serving-dir", os.path.join(root, "serving"),
            *RUN_FLAGS,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"training CI's model failed:\n{done.stdout}\n{done.stderr}")
    return ["--pipeline-root", pipeline_root]


def _gate(model: Sequence[str], data_dir: str, flags: Sequence[str], out: str) -> Dict:
    summary = f"{out}.json"
    start = time.perf_counter()
    done = _robustfx(
        "gate", *model, "--data-dir", data_dir, *flags,
        "--output-dir", out, "--summary-json", summary,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"gate {' '.join(flags)} failed:\n{done.stderr[-3000:]}")
    with open(summary) as f:
        result = json.load(f)
    early = result.get("decided_early") or {}
    return {
        "seconds": seconds,
        "exit_code": done.returncode,
        "passed": result["passed"],
        "examples": result["metrics"]["candidate"]["num_examples"],
        "figures": {name: result[name] for name in FIGURES},
        "intervals": {
            name: result["metrics"]["candidate"].get(f"{name}_interval") for name in FIGURES
        },
        "rules": {rule["rule"]: rule["passed"] for rule in result["rules"]},
        "stopped_after_round": early.get("stopped_after_round"),
        "round_ends": early.get("round_ends"),
        "stopped_because": early.get("stopped_because"),
        "decided_round": {r["rule"]: r["decided_round"] for r in early.get("rules", [])},
        "bound": {r["rule"]: r["bound"] for r in early.get("rules", [])},
    }


def decide_early_vs_full(
    model: Sequence[str], data_dir: str, workdir: str, flags: Sequence[str] = CI_FLAGS
) -> dict:
    """``--decide-early``'s wall time over ``--full``'s on the same model, digits and flags,
    run one after the other, with both verdicts (they must agree)."""
    early = _gate(model, data_dir, [*flags, "--decide-early"], os.path.join(workdir, "early"))
    full = _gate(model, data_dir, [*flags, "--full"], os.path.join(workdir, "full"))
    ratio = early["seconds"] / full["seconds"]
    print(
        f"decide-early {early['seconds']:.0f} s (stopped after round "
        f"{early['stopped_after_round']}, {early['examples']} examples: "
        f"{early['stopped_because']}) / full {full['seconds']:.0f} s = {ratio:.3f}; "
        f"verdicts {'pass' if early['passed'] else 'FAIL'} / "
        f"{'pass' if full['passed'] else 'FAIL'}; rules decided at rounds "
        f"{early['decided_round']}",
        flush=True,
    )
    return {
        "median": ratio,
        "repetitions": 1,
        "goal": 0.25,
        "same_verdict": early["passed"] == full["passed"],
        "early_seconds": early["seconds"],
        "full_seconds": full["seconds"],
        "flags": list(flags),
        "early": early,
        "full": full,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--pipeline-root", help="Gate the newest model blessed here.")
    target.add_argument("--model", help="Gate this SavedModel.")
    parser.add_argument("--gate-flags", help="The gate's flags instead of CI's, one string.")
    parser.add_argument("--name", default="decide_early_vs_full_ci", help="The result's key.")
    parser.add_argument("--output", default=os.path.join(HERE, "out", "decide_early.json"))
    args = parser.parse_args(argv)
    workdir = os.path.join(HERE, "out", "decide_early")
    os.makedirs(workdir, exist_ok=True)
    sys.path.insert(0, HERE)
    import fixtures

    data_dir = os.path.join(HERE, "out", "tfds")
    fixtures.mnist(data_dir)  # robustfx data prepare: mnist_5k, 1,000 test digits
    if args.model:
        model = ["--model", args.model]
    elif args.pipeline_root:
        model = ["--pipeline-root", args.pipeline_root]
    else:
        model = ci_model(workdir)
    flags = shlex.split(args.gate_flags) if args.gate_flags is not None else CI_FLAGS
    result = decide_early_vs_full(model, data_dir, os.path.join(workdir, args.name), flags)
    results = {}
    if os.path.isfile(args.output):
        with open(args.output) as f:
            results = json.load(f)
    results[args.name] = result
    with open(args.output, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
