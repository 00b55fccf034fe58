"""The robustness evaluation as a Beam pipeline: it scales like the rest of TFX.

Serialized transformed examples are batched; each worker loads the SavedModels once
(``DoFn.setup``), runs the clean pass, every attack and its random-noise control, and every
natural corruption of the set on each batch, and emits mergeable counts. Counts are summed
per model, so memory does not grow with the split. The same code runs on the DirectRunner,
Dataflow, Flink or Spark through the Beam args the pipeline gives.
"""

import dataclasses
import io
import json
import logging
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import apache_beam as beam

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base.progress import report_progress
from robustfx.base.serialization import to_dict
from robustfx.base.training_config import AdversarialConfig
from robustfx.robustness.attacks.transfer import TransferCrafter, keras_view
from robustfx.robustness.models.examples import ExampleReader
from robustfx.robustness.models.saved_models import ModelSignatureError, load_logits_fn
from robustfx.robustness.verdict import counts as robustness_counts
from robustfx.robustness.verdict import metrics as robustness_metrics
from robustfx.robustness.verdict.corruption_pass import CorruptionPass
from robustfx.robustness.verdict.model_under_attack import AttackPlan, ModelUnderAttack
from robustfx.robustness.verdict.statistics import PairedCounts, PairedScores

PAIRED = "paired"  # the key of the candidate-vs-baseline paired counts
# The key of the paired corruption scores: {'mean' or corruption: PairedScores as a dict}.
PAIRED_CORRUPTION = "paired_corruption"


class AttackBatchesFn(beam.DoFn):
    """Batches of serialized examples in; ``(model_role, counts_dict)`` pairs out."""

    def __init__(
        self,
        model_dirs: Mapping[str, str],
        plan: AttackPlan,
        num_classes: int,
        seed: int,
        raw_image_shape: Optional[Sequence[Optional[int]]] = None,
        expected_examples: Optional[int] = None,
        reference_model_dir: Optional[str] = None,
        transfer: Optional[AdversarialConfig] = None,
        corruptions: str = "none",
        interfaces: Optional[Mapping[str, dict]] = None,
    ):
        self._model_dirs = dict(model_dirs)
        self._interfaces = dict(interfaces or {})  # role -> ModelInterface.to_dict()
        self._corruption_set = corruptions
        self._corruptions: Optional[CorruptionPass] = None
        self._reference_dir = reference_model_dir
        self._transfer_dict = to_dict(transfer) if transfer else None
        self._crafter = None
        self._plan = plan.to_dict()
        self._num_classes = num_classes
        self._seed = seed
        self._raw_image_shape = list(raw_image_shape) if raw_image_shape else None
        self._expected = expected_examples
        self._models: Dict[str, ModelUnderAttack] = {}
        self._seen = 0
        self._only: Optional[List[str]] = None  # the attacks run on every example: all

    def setup(self) -> None:
        self.load()
        if self._expected:  # the start, so that rates count from here
            report_progress("attack suite", self._seen, self._expected, "examples")

    def load(self) -> None:
        """Loads the models (their attacks trace on the first batch) and the corruptions."""
        import tensorflow as tf

        tf.random.set_seed(self._seed)
        plan = AttackPlan.from_dict(self._plan)
        self._models = {
            role: ModelUnderAttack(
                model_dir,
                plan,
                self._seed,
                self._num_classes,
                interface=self._interfaces.get(role),
                role=role,
            )
            for role, model_dir in self._model_dirs.items()
        }
        if self._reference_dir:
            reference_fn, reference_shape = load_logits_fn(self._reference_dir)
            self._crafter = TransferCrafter(
                keras_view(reference_fn, reference_shape),
                AdversarialConfig(**self._transfer_dict),
            )
        shapes = {role: model.image_shape for role, model in self._models.items()}
        if len(set(shapes.values())) > 1:
            raise ModelSignatureError(f"models take different image shapes: {shapes}")
        image_shape = next(iter(shapes.values()))
        self._reader = ExampleReader(image_shape, self._raw_image_shape)
        self._corruptions = CorruptionPass(self._corruption_set, image_shape)

    def judge(self, serialized: List[bytes]) -> Tuple[List[Tuple[str, dict]], Dict[str, dict]]:
        """A batch's ``(key, counts)`` pairs (each model's, and the paired ones when the
        baseline is judged beside the candidate) and each model's per-example outcomes
        (``ModelUnderAttack.count``), by role."""
        import tensorflow as tf

        images, labels = self._reader.parse(tf.constant(serialized))
        transfer_images = self._crafter(images, labels) if self._crafter else None
        corrupted = self._corruptions.predictions(
            images, {role: model.predict for role, model in self._models.items()}
        )
        keyed, outcomes = [], {}
        for role, model in self._models.items():
            counts, outcomes[role] = model.count(
                images, labels, self._num_classes, transfer_images, corrupted[role], self._only
            )
            keyed.append((role, robustness_counts.counts_to_dict(counts)))
        if len(outcomes) == 2:  # candidate and baseline judged on the same examples
            candidate, baseline = (outcomes[role] for role in self._model_dirs)
            keyed.append((PAIRED, dataclasses.asdict(PairedCounts.of(candidate, baseline))))
            scores = {
                group: dataclasses.asdict(PairedScores.of(mine, baseline["corruption"][group]))
                for group, mine in candidate["corruption"].items()
            }
            if scores:
                keyed.append((PAIRED_CORRUPTION, scores))
        return keyed, outcomes

    def process(self, serialized: List[bytes]) -> Iterable[Tuple[str, dict]]:
        keyed, _ = self.judge(serialized)
        yield from keyed
        self.report(len(serialized))

    def report(self, examples: int, detail: str = "") -> None:
        """Adds ``examples`` to the progress line."""
        self._seen += examples
        if self._expected:
            report_progress("attack suite", self._seen, self._expected, "examples", detail)
        else:
            logging.info("robustness evaluation: %d examples attacked", self._seen)


def merge_count_dicts(parts: Iterable[dict]) -> dict:
    """One key's counts merged: a model's, the paired counts or the paired scores."""
    parts = list(parts)
    if parts and "clean_baseline_only" in parts[0]:  # the PAIRED key's values
        return dataclasses.asdict(PairedCounts.merge(PairedCounts(**p) for p in parts))
    if parts and "num_classes" not in parts[0]:  # the PAIRED_CORRUPTION key's values
        return {
            group: dataclasses.asdict(PairedScores.merge(PairedScores(**p[group]) for p in parts))
            for group in parts[0]
        }
    merged = robustness_counts.merge(robustness_counts.counts_from_dict(p) for p in parts)
    return robustness_counts.counts_to_dict(merged)


def evaluate_models(
    pipeline: beam.Pipeline,
    example_files: str,
    model_dirs: Mapping[str, str],
    plan: AttackPlan,
    num_classes: int,
    batch_size: int,
    output_path: str,
    seed: int = 0,
    raw_image_shape: Optional[Sequence[Optional[int]]] = None,
    expected_examples: Optional[int] = None,
    reference_model_dir: Optional[str] = None,
    transfer: Optional[AdversarialConfig] = None,
    corruptions: str = "none",
    interfaces: Optional[Mapping[str, dict]] = None,
) -> None:
    """Adds the evaluation to ``pipeline``; it writes ``{role: counts}`` JSON lines to
    ``output_path`` (a file prefix) when the pipeline runs.

    Args:
      raw_image_shape: set when ``example_files`` are raw TFDS records (encoded images) of
        this (height, width, channels); None for Transform's transformed examples.
      expected_examples: the split's size, for progress lines.
      reference_model_dir: a model to craft the write-ups' transfer examples against.
      transfer: the NSL settings of that protocol.
      corruptions: the named corruption set judged on the same batches.
      interfaces: role -> how that model is called (``ModelInterface.to_dict()``).
    """
    _ = (
        pipeline
        | "ReadExamples" >> beam.io.ReadFromTFRecord(example_files)
        | "Batch" >> beam.BatchElements(min_batch_size=batch_size, max_batch_size=batch_size)
        | "Attack"
        >> beam.ParDo(
            AttackBatchesFn(
                model_dirs,
                plan,
                num_classes,
                seed,
                raw_image_shape,
                expected_examples,
                reference_model_dir,
                transfer,
                corruptions,
                interfaces,
            )
        )
        | "MergePerModel" >> beam.CombinePerKey(merge_count_dicts)
        | "ToJson" >> beam.Map(to_json_line)
        | "Write" >> beam.io.WriteToText(output_path, shard_name_template="")
    )


def to_json_line(keyed: Tuple[str, dict]) -> str:
    """One merged key as the line ``read_lines`` reads."""
    return json.dumps({"role": keyed[0], "counts": keyed[1]})


@dataclasses.dataclass
class EvaluationCounts:
    """What ``evaluate_models`` wrote: counts per model, and when a baseline was judged on
    the same examples, the paired counts and the paired corruption scores."""

    per_model: Dict[str, robustness_counts.RobustnessCounts]
    paired: Optional[PairedCounts] = None
    paired_corruption: Dict[str, PairedScores] = dataclasses.field(default_factory=dict)


def read_lines(output_path: str) -> Iterator[Tuple[str, dict]]:
    """The ``(key, values)`` lines a pipeline wrote to ``output_path``, through Beam's
    filesystems (the ones its sink wrote with: gs://, hdfs://, local, ...)."""
    from apache_beam.io.filesystems import FileSystems

    if FileSystems.exists(output_path):
        with FileSystems.open(output_path) as f:
            for line in io.TextIOWrapper(f, encoding="utf-8"):
                record = json.loads(line)
                yield record["role"], record["counts"]


def add_line(found: EvaluationCounts, key: str, values: dict) -> None:
    """Keeps one line of what ``evaluate_models`` wrote in ``found``."""
    if key == PAIRED:
        found.paired = PairedCounts(**values)
    elif key == PAIRED_CORRUPTION:
        found.paired_corruption = {k: PairedScores(**v) for k, v in values.items()}
    else:
        found.per_model[key] = robustness_counts.counts_from_dict(values)


def read_counts(output_path: str) -> EvaluationCounts:
    """Reads what ``evaluate_models`` wrote."""
    found = EvaluationCounts({})
    for key, values in read_lines(output_path):
        add_line(found, key, values)
    return found


def finalize(
    counts: Mapping[str, robustness_counts.RobustnessCounts],
    roles: Sequence[str],
    class_names: Sequence[str],
) -> Dict[str, dict]:
    """Metrics per role; fails clearly when the split yielded no examples."""
    missing = [role for role in roles if role not in counts]
    if missing:
        raise ValueError("the evaluated split is empty: no examples were read")
    return {role: robustness_metrics.to_metrics(counts[role], list(class_names)) for role in roles}
