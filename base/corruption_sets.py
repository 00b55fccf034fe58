"""Named corruption sets: which natural corruptions, at which severities, the verdict judges.

The corruption names are written here once; the robustness library implements exactly these
(``robustness.corruptions.registry`` checks it on import).

- The 15 MNIST-C corruptions (Mu and Gilmer 2019) run on images of 1 or 3 channels.
- ImageNet-C's families (Hendrycks and Dietterich 2019) that MNIST-C does not carry run on
  RGB images only: a set resolved for 1-channel images skips them and says so.

Sets:

- ``none``: no corruption.
- ``quick`` (every run): six cheap corruptions of different kinds (sensor noise, camera
  motion, rotation, fog, a scratch, and over-exposure) at severities 2 and 4; with RGB
  images also contrast. Its cost on the 1,000 mnist_5k test digits is measured against the
  quick attack suite by ``benchmarks/corruption_costs.py`` (budget: 15%).
- ``full`` (releases and the CI gate): every MNIST-C corruption at severities 1 to 5, and
  with RGB images every ImageNet-C family too.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Tuple

from robustfx.base.validation import check_choice

SEVERITIES: Tuple[int, ...] = (1, 2, 3, 4, 5)

MNIST_C_CORRUPTIONS: Tuple[str, ...] = (
    "shot_noise",
    "impulse_noise",
    "glass_blur",
    "motion_blur",
    "shear",
    "scale",
    "rotate",
    "brightness",
    "translate",
    "stripe",
    "fog",
    "spatter",
    "dotted_line",
    "zigzag",
    "canny_edges",
)
RGB_CORRUPTIONS: Tuple[str, ...] = (
    "gaussian_noise",
    "defocus_blur",
    "contrast",
    "jpeg_compression",
    "pixelate",
    "elastic_transform",
    "saturate",
    "frost",
    "snow",
)
ALL_CORRUPTIONS: Tuple[str, ...] = MNIST_C_CORRUPTIONS + RGB_CORRUPTIONS
CHANNEL_COUNTS: Tuple[int, ...] = (1, 3)

# One set: (corruption, severities) pairs, in the order they run.
SetEntries = Tuple[Tuple[str, Tuple[int, ...]], ...]

_QUICK_SEVERITIES = (2, 4)
CORRUPTION_SETS: Dict[str, SetEntries] = {
    "none": (),
    "quick": tuple(
        (name, _QUICK_SEVERITIES)
        for name in (
            "shot_noise",
            "motion_blur",
            "rotate",
            "fog",
            "zigzag",
            "brightness",
            "contrast",
        )
    ),
    "full": tuple((name, SEVERITIES) for name in ALL_CORRUPTIONS),
}
CORRUPTION_SET_NAMES: Tuple[str, ...] = tuple(CORRUPTION_SETS)


@dataclasses.dataclass(frozen=True)
class ResolvedCorruptions:
    """A named set for images of ``channels`` channels.

    Attributes:
      name: the set's name.
      channels: the images' channel count, 1 or 3.
      runs: (corruption, severity) pairs to judge, in order.
      skipped: the set's RGB-only corruptions left out for 1-channel images.
    """

    name: str
    channels: int
    runs: Tuple[Tuple[str, int], ...]
    skipped: Tuple[str, ...]

    @property
    def corruptions(self) -> Tuple[str, ...]:
        """The corruptions that run, each once, in order."""
        return tuple(dict.fromkeys(name for name, _ in self.runs))

    @property
    def note(self) -> str:
        """One line on what was skipped and why; empty when nothing was."""
        if not self.skipped:
            return ""
        return (
            f"corruption set {self.name!r}: {len(self.skipped)} RGB-only corruptions skipped "
            f"for {self.channels}-channel images ({', '.join(self.skipped)})"
        )


def resolve_corruption_set(name: str, channels: int) -> ResolvedCorruptions:
    """The set ``name`` for images of ``channels`` channels (1 or 3)."""
    check_choice("corruptions", name, CORRUPTION_SET_NAMES)
    check_choice("channels", channels, CHANNEL_COUNTS)
    entries = CORRUPTION_SETS[name]
    skipped = tuple(c for c, _ in entries if channels != 3 and c in RGB_CORRUPTIONS)
    runs = tuple(
        (corruption, severity)
        for corruption, severities in entries
        if corruption not in skipped
        for severity in severities
    )
    return ResolvedCorruptions(name=name, channels=channels, runs=runs, skipped=skipped)
