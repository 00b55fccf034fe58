"""Recipe study: which NSL adversarial-training recipe should be the project's default?

Trains the project's CNN (``build_cnn(ModelConfig(), (28, 28, 1), 10)``: conv 32/64/64,
dense 64) inside ``nsl.keras.AdversarialRegularization`` with several recipes, and scores each
on a *validation* split carved out of the mnist_5k train split. The test split is never
read: choosing a default on it would leave no honest estimate for the gate later.

Data: the first 3,600 digits of the train split train, its last 400 validate. Pixels / 255.
Training: batch 32, Adam 1e-3, seed 42 (``tf.keras.utils.set_random_seed`` before each model
is built, so every recipe starts from the same weights and sees the same shuffles).

Scores, per recipe, on the 400 validation digits (white-box, L-infinity, epsilon 0.2, images
kept in [0, 1]); all robust figures also count a digit as broken when it is misclassified
clean:
  * clean accuracy;
  * PGD-20 and PGD-50 on cross-entropy, uniform random start, step 2.5 * epsilon / steps,
    best iterate per example: a digit is broken if *any* iterate (random start included)
    is misclassified;
  * worst case = correct under both PGD-20 and PGD-50 (the figure the brief asks for);
  * CW-50, an extra check: PGD-50 on the logit margin (max wrong logit - true logit), the
    loss that AutoAttack's DLR attack builds on; "worst + CW" is correct under all three.

Cost, per recipe: the mean wall time of one adversarial training step against one clean
step of the same CNN on the same batch, measured side by side in this process (steps
alternate, after a warm-up), on fresh models so the trained ones are not disturbed.

Outputs (under --out, default runs/recipe_study/):
  <recipe>/            the trained base model, TF SavedModel format (``base_model.save``)
  results.json         every figure, the settings and the environment
  results.md           the table

Run from the repository root, one process at a time and niced on a shared machine::

  nice -n 10 .venv/bin/python benchmarks/recipe_study.py
  nice -n 10 .venv/bin/python benchmarks/recipe_study.py --recipes d_pgd3 f_baseline
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Sequence

import numpy as np

# isort: off
import robustfx  # noqa: F401  (pins Keras 2: must be imported before TensorFlow)
import tensorflow as tf
# isort: on


from recipe_scoring import evaluate, time_steps, warm_up_process  # noqa: E402
from recipe_training import (  # noqa: E402
    BATCH_SIZE,
    EPSILON,
    LEARNING_RATE,
    REPO,
    Arrays,
    Recipe,
    default_recipes,
    load_train_validation,
    train,
)  # fmt: skip

# ----------------------------------------------------------------------------- reports


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def markdown_table(rows: Sequence[Mapping[str, Any]], header_note: str) -> str:
    lines = [
        "# Recipe study on mnist_5k's 400 validation digits (1.0.0: the train split's last 400)",
        "",
        header_note,
        "",
        "| recipe | NSL settings | epochs | clean | PGD-20 | PGD-50 | worst case | CW-50 "
        "| worst + CW | adv step | clean step | step ratio (budget k+1) "
        "| training wall time (epochs only) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        k = row["attack_steps"]
        budget = f"{k + 1}" if k else "-"
        lines.append(
            f"| {row['recipe']} | {row['settings']} | {row['epochs']} "
            f"| {percent(row['clean'])} | {percent(row['pgd20'])} | {percent(row['pgd50'])} "
            f"| **{percent(row['worst_case'])}** | {percent(row['cw50'])} "
            f"| {percent(row['worst_with_cw'])} | {row['step_ms']:.1f} ms "
            f"| {row['clean_step_ms']:.1f} ms | {row['step_ratio']:.2f} ({budget}) "
            f"| {row['train_seconds']:.0f} s ({row.get('epoch_seconds', float('nan')):.0f} s) |"
        )
    return "\n".join(lines) + "\n"


def write_reports(out: Path, rows: List[Dict[str, Any]], meta: Dict[str, Any]) -> None:
    note = (
        f"L-infinity epsilon {EPSILON}, white-box, best iterate, random start; robust figures "
        "also count clean mistakes as broken. Worst case = correct under both PGD-20 and "
        "PGD-50 (cross-entropy). CW-50 = PGD-50 on the logit margin. 400 digits: one "
        "standard error is about 2 points at 80%. Step times are means over "
        f"{meta['timed_steps']} alternating steps (batch {BATCH_SIZE}); budget k+1 with k = NSL "
        "pgd_iterations. Seed "
        f"{meta['seed']}; generated {meta['finished']} on {meta['cpus']} CPU(s)."
    )
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": rows}, indent=2))
    (out / "results.md").write_text(markdown_table(rows, note))


# -------------------------------------------------------------------------------- main


def run_recipe(
    recipe: Recipe, train_data: Arrays, validation: Arrays, out: Path, seed: int, steps: int
) -> Dict[str, Any]:
    base, train_seconds, epoch_seconds = train(recipe, train_data, seed)
    scores = evaluate(base, validation)
    model_dir = out / recipe.name
    if model_dir.exists():
        shutil.rmtree(model_dir)
    base.save(str(model_dir), save_format="tf")
    timing = time_steps(recipe, train_data, seed, steps)
    return {
        "recipe": recipe.name,
        "summary": recipe.summary,
        "settings": recipe.settings_text(),
        "nsl_config": dict(recipe.nsl) if recipe.nsl is not None else None,
        "clip": recipe.clip,
        "epochs": recipe.epochs,
        "clean_epochs": recipe.clean_epochs,
        "attack_steps": recipe.attack_steps,
        "train_seconds": train_seconds,
        "epoch_seconds": epoch_seconds,
        "measured": datetime.datetime.now().isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
        **scores,
        **timing,
        "model_dir": str(model_dir),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "recipe_study")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=5, help="Epochs of the a_ to f_ recipes.")
    parser.add_argument(
        "--long-epochs", type=int, nargs="*", default=[10, 15], help="Epochs of the g_ recipes."
    )
    parser.add_argument("--timed-steps", type=int, default=60)
    parser.add_argument(
        "--recipes", nargs="*", default=None, help="Names to run (default: all, in order)."
    )
    parser.add_argument(
        "--summarize",
        action="store_true",
        help="Train nothing: summarize --out/results.json and --out/seed*/results.json "
        "(runs with other --seed values) over seeds into --out/seeds.{json,md}.",
    )
    return parser.parse_args()


def previous_rows(out: Path, seed: int) -> List[Dict[str, Any]]:
    """Rows of an earlier run into the same folder with the same seed, kept unless re-run."""
    path = out / "results.json"
    if not path.exists():
        return []
    previous = json.loads(path.read_text())
    return list(previous["results"]) if previous["meta"].get("seed") == seed else []


def summarize_seeds(out: Path) -> None:
    """Mean and range over seeds of each recipe run with more than one seed."""
    runs = [out / "results.json", *sorted(out.glob("seed*/results.json"))]
    by_recipe: Dict[str, List[Dict[str, Any]]] = {}
    for path in runs:
        if path.exists():
            for row in json.loads(path.read_text())["results"]:
                by_recipe.setdefault(row["recipe"], []).append(row)
    fields = ("clean", "worst_case", "worst_with_cw", "step_ratio", "train_seconds")
    summary: List[Dict[str, Any]] = []
    for name, rows in by_recipe.items():
        if len(rows) < 2:
            continue
        entry: Dict[str, Any] = {"recipe": name, "settings": rows[0]["settings"]}
        entry["epochs"] = rows[0]["epochs"]
        entry["seeds"] = len(rows)
        for field in fields:
            values = [float(row[field]) for row in rows]
            entry[field] = {"mean": float(np.mean(values)), "min": min(values), "max": max(values)}
        summary.append(entry)
    (out / "seeds.json").write_text(json.dumps(summary, indent=2))

    def cell(entry: Dict[str, Any], field: str, show: Callable[[float], str]) -> str:
        value = entry[field]
        return f"{show(value['mean'])} ({show(value['min'])}-{show(value['max'])})"

    def ratio(value: float) -> str:
        return f"{value:.2f}"

    def seconds(value: float) -> str:
        return f"{value:.0f} s"

    lines = [
        "# Recipe study over seeds: mean (min-max) on the 400 validation digits",
        "",
        "| recipe | epochs | seeds | clean | worst case (PGD-20 & PGD-50) | worst + CW-50 "
        "| step ratio | training wall time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry in summary:
        lines.append(
            f"| {entry['recipe']} | {entry['epochs']} | {entry['seeds']} "
            f"| {cell(entry, 'clean', percent)} | {cell(entry, 'worst_case', percent)} "
            f"| {cell(entry, 'worst_with_cw', percent)} | {cell(entry, 'step_ratio', ratio)} "
            f"| {cell(entry, 'train_seconds', seconds)} |"
        )
    (out / "seeds.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'seeds.md'} ({len(summary)} recipes)", flush=True)


def main() -> None:
    args = parse_args()
    if args.summarize:
        summarize_seeds(args.out)
        return
    recipes = default_recipes(args.epochs, args.long_epochs)
    order = {recipe.name: index for index, recipe in enumerate(recipes)}
    if args.recipes:
        unknown = set(args.recipes) - {recipe.name for recipe in recipes}
        if unknown:
            raise SystemExit(f"unknown recipes: {sorted(unknown)}")
        recipes = [recipe for recipe in recipes if recipe.name in args.recipes]
    args.out.mkdir(parents=True, exist_ok=True)
    train_data, validation = load_train_validation()
    meta: Dict[str, Any] = {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "seed": args.seed,
        "train_digits": len(train_data[1]),
        "validation_digits": len(validation[1]),
        "validation_source": "mnist_5k validation split (1.0.0: train split positions 3600-3999); "
        "test split unused",
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "epsilon": EPSILON,
        "timed_steps": args.timed_steps,
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
    }
    print(
        f"recipe study: {len(recipes)} recipes, train {meta['train_digits']}, "
        f"validation {meta['validation_digits']}, out {args.out}",
        flush=True,
    )
    warm_up_process(train_data, args.seed)
    rows = previous_rows(args.out, args.seed)
    for index, recipe in enumerate(recipes, 1):
        print(f"[{index}/{len(recipes)}] {recipe.name}: {recipe.settings_text()}", flush=True)
        row = run_recipe(recipe, train_data, validation, args.out, args.seed, args.timed_steps)
        rows = [old for old in rows if old["recipe"] != recipe.name] + [row]
        rows.sort(key=lambda row: order.get(row["recipe"], len(order)))
        meta["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        write_reports(args.out, rows, meta)  # after every recipe, so a crash keeps the rest
        print(
            f"[{index}/{len(recipes)}] {recipe.name}: clean {percent(row['clean'])}, "
            f"PGD-20 {percent(row['pgd20'])}, PGD-50 {percent(row['pgd50'])}, "
            f"worst {percent(row['worst_case'])}, worst+CW {percent(row['worst_with_cw'])}; "
            f"step {row['step_ms']:.1f} ms vs clean {row['clean_step_ms']:.1f} ms "
            f"(x{row['step_ratio']:.2f}); trained in {row['train_seconds']:.0f} s",
            flush=True,
        )
    print(f"wrote {args.out / 'results.md'} and results.json", flush=True)


if __name__ == "__main__":
    main()
