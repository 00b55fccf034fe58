"""The natural corruptions of one evaluation: a named set resolved for the models' images,
each corruption traced once for all its severities where its parameters change no shape
(once per severity where they do: ``registry.compile_severities``), applied batch by batch.

The corruptions are seeded from each example's own pixels, so the candidate and the baseline
see the same corrupted image, and a re-run or another worker repeats it exactly. Each
corrupted batch is made once and predicted by every model, then dropped: memory holds one
corrupted batch at a time, whatever the set's size.
"""

from typing import Dict, Iterator, Mapping, Sequence, Tuple

import numpy as np

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base.corruption_sets import ResolvedCorruptions, resolve_corruption_set
from robustfx.robustness.corruptions import registry
from robustfx.robustness.verdict.counts import CorruptedPredictions


class CorruptionPass:
    """The set ``set_name`` for images of ``image_shape`` [height, width, channels]."""

    def __init__(self, set_name: str, image_shape: Sequence[int]):
        self.resolved: ResolvedCorruptions = resolve_corruption_set(set_name, int(image_shape[-1]))
        compiled = {
            (name, severity): function
            for name in self.resolved.corruptions
            for severity, function in registry.compile_severities(
                name, [s for n, s in self.resolved.runs if n == name], image_shape
            ).items()
        }
        self._functions = {run: compiled[run] for run in self.resolved.runs}

    def corrupted_batches(self, images) -> Iterator[Tuple[Tuple[str, int], object]]:
        """((corruption, severity), corrupted images) for each run of the set, in order."""
        for run, function in self._functions.items():
            yield run, function(images)

    def predictions(self, images, predict_by_role: Mapping) -> Dict[str, CorruptedPredictions]:
        """Role -> corruption -> severity -> predicted classes [batch], for each model's
        ``predict(images) -> np.ndarray``; empty mappings when the set is ``none``."""
        found: Dict[str, Dict[str, Dict[int, np.ndarray]]] = {role: {} for role in predict_by_role}
        for (name, severity), corrupted in self.corrupted_batches(images):
            for role, predict in predict_by_role.items():
                found[role].setdefault(name, {})[severity] = predict(corrupted)
        return found
