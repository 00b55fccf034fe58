"""Real-size images in bounded memory: ``robustfx run --preset beans`` on beans-format data at
the real TFDS ``beans`` split sizes (1,034 / 133 / 128 images, 500x500x3 JPEG), with its peak
resident memory, its time per component and its accuracies; the peak as a ratio between the
train split and the train split doubled (one epoch each, judged on one cheap attack: the
question is the training phase), and the Trainer's resident memory after the last epoch
over after the first; and Transform's time per example as a ratio to mnist_5k's.

Usage: python benchmarks/real_size_memory.py [--epochs 5] [--output FILE]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Dict, List

from pipeline_costs import _component_seconds

HERE = os.path.dirname(os.path.abspath(__file__))
BEANS_SPLITS = {"train": 1034, "validation": 133, "test": 128}
MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
print("PEAK_KIB", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)
sys.exit(code)
"""


def write_beans(data_dir: str, train: int) -> str:
    """Beans-format data at the real sizes (the train split scaled), written once."""
    from robustfx.data.synthetic_beans import write_synthetic_beans

    if not os.path.isdir(os.path.join(data_dir, "beans")):
        write_synthetic_beans(data_dir, {**BEANS_SPLITS, "train": train})
    return data_dir


# The runs that compare peaks between data sizes judge one cheap attack: their question is
# the training phase's memory, and the attack phase's is the full run's.
CHEAP_EVALUATION = ["--attack", "fgsm_linf_0.2", "--epsilon-sweep", "0.5", "--report-examples", "0"]


def measured_run(workdir: str, name: str, flags: List[str]) -> Dict:
    """One ``robustfx run`` in a subprocess: its peak RSS, wall time, components, summary.
    Kept in the run's ``measurement.json``; a run measured before is not run again."""
    root = os.path.join(workdir, "runs", name)
    kept = os.path.join(root, "measurement.json")
    if os.path.isfile(kept):
        with open(kept) as f:
            return json.load(f)
    summary = os.path.join(root, "summary.json")
    command = [sys.executable, "-m", "robustfx.cli.main", "run", "--no-cache",
               "--pipeline-root", os.path.join(root, "pipeline_root"),
               "--serving-dir", os.path.join(root, "serving"), "--summary-json", summary,
               "--quiet", *flags]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    peak_kib = int(done.stdout.split("PEAK_KIB")[-1].split()[0])
    with open(summary) as f:
        result = json.load(f)
    history_dir = os.path.join(root, "pipeline_root", "Trainer", "model_run")
    (run_id,) = os.listdir(history_dir)
    with open(os.path.join(history_dir, run_id, "history.json")) as f:
        resident = json.load(f).get("resident_mib", [])
    measurement = {
        "peak_rss_gib": round(peak_kib / 2**20, 2),
        "wall_seconds": round(seconds, 1),
        "components_seconds": _component_seconds(
            os.path.join(root, "pipeline_root", "metadata.sqlite")
        ),
        "trainer_resident_mib_per_epoch": resident,
        "clean_accuracy": result["clean_accuracy"],
        "worst_case_robust_accuracy": result["worst_case_robust_accuracy"],
        "blessed": result["blessed"],
    }
    with open(kept, "w") as f:
        json.dump(measurement, f, indent=2, sort_keys=True)
    return measurement


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--output", default=os.path.join(HERE, "results.json"))
    args = parser.parse_args(argv)
    workdir = os.path.join(HERE, "out", "real_size")
    beans = write_beans(os.path.join(workdir, "tfds_1x"), BEANS_SPLITS["train"])
    doubled = write_beans(os.path.join(workdir, "tfds_2x"), 2 * BEANS_SPLITS["train"])
    mnist = os.path.join(HERE, "out", "tfds")
    subprocess.run([sys.executable, "-m", "robustfx.cli.main", "data", "prepare",
                    "--data-dir", mnist], check=True, capture_output=True)  # fmt: skip
    runs = {
        "beans": measured_run(workdir, "beans", ["--preset", "beans", "--data-dir", beans,
                                                 "--epochs", str(args.epochs)]),
        "beans_1_epoch": measured_run(workdir, "beans_1_epoch", ["--preset", "beans",
                                      "--data-dir", beans, "--epochs", "1", *CHEAP_EVALUATION]),
        "beans_2x_train_1_epoch": measured_run(workdir, "beans_2x", ["--preset", "beans",
                                               "--data-dir", doubled, "--epochs", "1",
                                               *CHEAP_EVALUATION]),
        "mnist_5k": measured_run(workdir, "mnist_5k", ["--data-dir", mnist, "--epochs", "1"]),
    }  # fmt: skip
    resident = runs["beans"]["trainer_resident_mib_per_epoch"]
    beans_examples, mnist_examples = sum(BEANS_SPLITS.values()), 5000
    transform_per_example = {
        name: runs[name]["components_seconds"]["Transform"] / examples
        for name, examples in (("beans", beans_examples), ("mnist_5k", mnist_examples))
    }
    figures = {
        "real_size_beans": {
            **runs["beans"],
            "splits": BEANS_SPLITS,
            "epochs": args.epochs,
            "goal_peak_rss_gib": 6.0,
        },
        "real_size_peak_rss_ratio_2x_train": {
            "ratio": round(
                runs["beans_2x_train_1_epoch"]["peak_rss_gib"]
                / runs["beans_1_epoch"]["peak_rss_gib"],
                3,
            ),
            "goal": 1.2,
            "peak_rss_gib": [
                runs["beans_1_epoch"]["peak_rss_gib"],
                runs["beans_2x_train_1_epoch"]["peak_rss_gib"],
            ],
        },
        "real_size_resident_ratio_last_vs_first_epoch": {
            "ratio": round(resident[-1] / resident[0], 3) if resident else None,
            "goal": 1.1,
            "resident_mib": resident,
        },
        "real_size_transform_seconds_per_example_vs_mnist": {
            "ratio": round(transform_per_example["beans"] / transform_per_example["mnist_5k"], 2),
            "beans_transform_seconds": runs["beans"]["components_seconds"]["Transform"],
            "goal_beans_transform_seconds": 60,
        },
        "mnist_5k_1_epoch_run": runs["mnist_5k"],
    }
    results = {}
    if os.path.isfile(args.output):
        with open(args.output) as f:
            results = json.load(f)
    results.update(figures)
    with open(args.output, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(figures, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
