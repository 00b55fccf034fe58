"""`robustfx compare`: the seed experiment, under a stricter protocol.

One TFX pipeline trains the same CNN on the same data and steps several ways (no adversarial
regularization, NSL FGSM-based adversarial regularization, and optionally NSL PGD-based and
certified training with IBP), then attacks each model white-box with the evaluator's suite,
certifies it (the bracket) and also runs the write-ups' transfer protocol (examples crafted
against the baseline). The results are read back from ML Metadata into one side-by-side
table, JSON and a plot.
"""

import dataclasses
import functools
import json
import os
import shutil
from typing import Callable, Dict, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from robustfx.base.presets import PGD_TRAINING, TUTORIAL_ADVERSARIAL  # noqa: E402
from robustfx.base.run_config import RunConfig  # noqa: E402
from robustfx.pipeline.comparison import (  # noqa: E402
    BASELINE_TRAINER_ID,
    Comparison,
    Recipe,
    create_comparison_pipeline,
)
from robustfx.pipeline.local_runner import run_pipeline  # noqa: E402
from robustfx.pipeline.mlmd import latest_evaluation, open_store, report_path  # noqa: E402
from robustfx.pipeline.production import evaluator_id  # noqa: E402
from robustfx.robustness.verdict.outcome import EvaluationResult  # noqa: E402

TUTORIAL_TRAINER_ID, PGD_TRAINER_ID, IBP_TRAINER_ID = "TutorialTrainer", "PgdTrainer", "IbpTrainer"
# Model key in the summary -> the Trainer whose model it is (None: the configured recipe's).
MODELS = {
    "baseline": BASELINE_TRAINER_ID,
    "nsl_tutorial": TUTORIAL_TRAINER_ID,
    "adversarial": None,
    "pgd_adversarial": PGD_TRAINER_ID,
    "certified_ibp": IBP_TRAINER_ID,
}


def comparison_for(config: RunConfig, with_pgd: bool, with_certified: bool = True) -> Comparison:
    """The extra models: the plain baseline; the NSL tutorial's settings unless they are the
    configured recipe (--preset mnist); PGD training unless --no-pgd; certified training
    with IBP (the run's epochs and IBP settings) unless --no-certified or it is the
    configured recipe."""
    plain = dataclasses.replace(config.adversarial, enabled=False)
    others = {}
    if config.adversarial != TUTORIAL_ADVERSARIAL:
        others[TUTORIAL_TRAINER_ID] = Recipe(TUTORIAL_ADVERSARIAL)
    if with_pgd:
        others[PGD_TRAINER_ID] = Recipe(PGD_TRAINING)
    if with_certified and config.training.recipe != "ibp":
        others[IBP_TRAINER_ID] = Recipe(plain, dataclasses.replace(config.training, recipe="ibp"))
    return Comparison(baseline=plain, others=others)


def _model_row(result: dict) -> dict:
    """One model's row from its ``metrics.json``: each headline figure (None when not
    measured), the reported attacks' and each corruption's accuracy, the transfer accuracy
    and the bracket."""
    evaluation = EvaluationResult.from_dict(result)
    verdict = evaluation.verdict
    candidate = verdict.candidate
    return {
        **{name: e.value if e else None for name, e in candidate.headline().items()},
        "bracket": evaluation.bracket(),
        "robust_accuracy": verdict.robust(),
        "transfer_accuracy": candidate.transfer_accuracy,
        "corruption_accuracy": {n: e.value for n, e in candidate.corruption_by_name.items()},
    }


def evaluators(comparison: Comparison) -> Dict[str, str]:
    """Model key -> the node ID of the RobustnessEvaluator that judged it, for this run."""
    trained = {BASELINE_TRAINER_ID, None, *comparison.others}
    return {key: evaluator_id(t) for key, t in MODELS.items() if t in trained}


def collect(config: RunConfig, comparison: Comparison) -> Dict[str, dict]:
    """Per model: its latest evaluation's headline numbers and report path."""
    store = open_store(config.metadata_path)
    models = {}
    for key, node_id in evaluators(comparison).items():
        found = latest_evaluation(store, config.pipeline_name, node_id)
        if found is not None:
            evaluation, result = found
            models[key] = {**_model_row(result), "report": report_path(evaluation)}
    return models


def to_markdown(dataset: str, models: Dict[str, dict], transfer_name: str) -> str:
    attacks = list(next(iter(models.values()))["robust_accuracy"])
    header = ["model", "clean"] + list(attacks) + ["**worst case**", "certified"]
    header.append(f"write-ups' protocol ({transfer_name} vs baseline)")
    lines = [
        f"## Baseline vs adversarially regularized on {dataset}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for key, row in models.items():
        cells = [key, f"{row['clean_accuracy']:.4f}"]
        cells += [f"{row['robust_accuracy'][a]:.4f}" for a in attacks]
        cells.append(f"**{row['worst_case_robust_accuracy']:.4f}**")
        certified = row["certified_accuracy"]
        cells.append("-" if certified is None else f"{certified:.4f}")
        cells.append(f"{row['transfer_accuracy']:.4f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Every model is attacked with its own gradients (and the black-box Square attack); "
        "cascade attacks count examples that survived every earlier attack, and the worst "
        "case counts examples that survived all of them: an upper bound of the true robust "
        "accuracy, whose lower bound is the certified accuracy (proven by the verifier; - "
        "where it could not read the model). The write-ups' protocol "
        "crafts examples against the baseline only (a transfer attack, weaker), as the seed "
        "articles did; it is shown apart.",
    ]
    return "\n".join(lines + corruption_table(models)) + "\n"


def corruption_table(models: Dict[str, dict]) -> list:
    """Markdown lines: accuracy under each natural corruption (mean over its severities) per
    model, with the mean and the worst corruption; none when no corruption was judged."""
    corruptions = list(next(iter(models.values()))["corruption_accuracy"])
    if not corruptions:
        return []
    header = ["model", "**mean**", "**worst**"] + corruptions
    lines = [
        "",
        "### Natural corruptions (accuracy, mean over severities)",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for key, row in models.items():
        cells = [key, f"**{row['corruption_mean']:.4f}**", f"**{row['corruption_worst']:.4f}**"]
        cells += [f"{row['corruption_accuracy'][name]:.4f}" for name in corruptions]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def plot(models: Dict[str, dict], path: str) -> None:
    attacks = list(next(iter(models.values()))["robust_accuracy"])
    columns = ["clean"] + attacks + ["transfer (write-ups)"]
    with_corruptions = all(row["corruption_mean"] is not None for row in models.values())
    if with_corruptions:
        columns.append("corruptions (mean)")
    figure, axis = plt.subplots(figsize=(1.6 * len(columns) + 2, 3.6))
    width = 0.8 / len(models)
    for index, (key, row) in enumerate(models.items()):
        values = [row["clean_accuracy"]] + [row["robust_accuracy"][a] for a in attacks]
        values.append(row["transfer_accuracy"])
        if with_corruptions:
            values.append(row["corruption_mean"])
        positions = [c + index * width for c in range(len(columns))]
        bars = axis.bar(positions, values, width, label=key)
        axis.bar_label(bars, fmt="%.2f", fontsize=7)
    axis.set_xticks([c + width * (len(models) - 1) / 2 for c in range(len(columns))])
    axis.set_xticklabels(columns, fontsize=8)
    axis.set_ylim(0, 1.08)
    axis.set_ylabel("accuracy")
    axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=len(models))
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)


def run_compare(
    config: RunConfig,
    with_pgd: bool,
    output_dir: str,
    on_ready: Optional[Callable] = None,
    with_certified: bool = True,
) -> dict:
    """Runs the comparison pipeline and writes comparison.{json,md,png} plus each model's
    report into ``output_dir``; returns the JSON summary. ``on_ready`` as in
    ``run_pipeline``."""
    comparison = comparison_for(config, with_pgd, with_certified)
    dataset = run_pipeline(
        config,
        functools.partial(create_comparison_pipeline, comparison=comparison),
        on_ready=on_ready,
    )
    models = collect(config, comparison)
    missing = [key for key in evaluators(comparison) if key not in models]
    if missing:
        raise RuntimeError(f"the comparison run recorded no evaluation for {missing}")
    os.makedirs(output_dir, exist_ok=True)
    for key, row in models.items():
        copied = os.path.join(output_dir, f"report_{key}.html")
        shutil.copyfile(row.pop("report"), copied)
        row["report"] = copied
    transfer = config.evaluation.transfer_config()
    transfer_name = f"nsl_{transfer.adv_grad_norm}_{transfer.adv_step_size:g}"
    markdown = to_markdown(dataset.name, models, transfer_name)
    plot(models, os.path.join(output_dir, "comparison.png"))
    summary = {"dataset": dataset.name, "transfer_protocol": transfer_name, "models": models}
    with open(os.path.join(output_dir, "comparison.md"), "w") as f:
        f.write(markdown)
    with open(os.path.join(output_dir, "comparison.json"), "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
    summary["markdown"] = markdown
    return summary
