"""Fits the CNN's conv and pooling layers to the input size, without TensorFlow.

The tutorial's CNN uses 'valid' convolutions and 2x2 pooling, which shrink a 28x28 digit to
3x3. On small images (8x8, 16x16) that runs out of pixels and Keras fails half a minute into
a run with "Negative dimension size". The plan keeps the tutorial's layers where they fit
and adapts where they do not: a convolution whose input is smaller than its kernel, or that
would leave nothing, pads ('same'); a pooling whose input is smaller than the pool is
skipped. Every adaptation is reported, and the pipeline plans before any component runs.
"""

import dataclasses
from typing import List, Sequence, Tuple

from robustfx.base.training_config import ModelConfig
from robustfx.base.validation import require


@dataclasses.dataclass(frozen=True)
class ConvLayer:
    filters: int
    padding: str  # 'valid' (the tutorial) or 'same'
    pool: bool  # a max-pool follows
    output: Tuple[int, int]  # spatial size after the conv (and its pool)
    conv_output: Tuple[int, int] = (0, 0)  # spatial size after the conv, before its pool


@dataclasses.dataclass(frozen=True)
class LayerPlan:
    layers: Tuple[ConvLayer, ...]
    notes: Tuple[str, ...]  # every adaptation, for the log

    @property
    def flat_features(self) -> int:
        height, width = self.layers[-1].output
        return height * width * self.layers[-1].filters


def _conv(size: int, kernel: int, padding: str) -> int:
    return size if padding == "same" else size - kernel + 1


def plan_layers(config: ModelConfig, input_shape: Sequence[int]) -> LayerPlan:
    """The conv/pool layers for ``input_shape`` (height, width, channels).

    Raises:
      ConfigError: naming the shape and the layer, when the input cannot hold even one pixel.
    """
    require(
        len(input_shape) == 3 and all(side and side >= 1 for side in input_shape),
        f"image shape {list(input_shape)} is not (height, width, channels) with known sides: "
        "set --resize HxW",
    )
    height, width = int(input_shape[0]), int(input_shape[1])
    layers: List[ConvLayer] = []
    notes: List[str] = []
    last = len(config.conv_filters) - 1
    for index, filters in enumerate(config.conv_filters):
        name = f"conv{index + 1}"
        padding = "valid"
        if min(height, width) - config.kernel_size + 1 < 1:
            padding = "same"
            notes.append(
                f"{name}: input {height}x{width} is smaller than the {config.kernel_size}x"
                f"{config.kernel_size} kernel, so it pads ('same')"
            )
        height, width = (
            _conv(height, config.kernel_size, padding),
            _conv(width, config.kernel_size, padding),
        )
        conv_output = (height, width)
        pool = index < last or config.pool_after_last_conv
        if pool and min(height, width) < config.pool_size:
            notes.append(
                f"pool{index + 1}: input {height}x{width} is smaller than the "
                f"{config.pool_size}x{config.pool_size} pool, so it is skipped"
            )
            pool = False
        if pool:
            height, width = height // config.pool_size, width // config.pool_size
        layers.append(ConvLayer(filters, padding, pool, (height, width), conv_output))
    require(
        height >= 1 and width >= 1,
        f"the CNN leaves no pixels of a {input_shape[0]}x{input_shape[1]} image after "
        f"{layers[-1] if layers else 'conv1'}: use fewer --conv-filters or a smaller "
        "--kernel-size, or --resize the images",
    )
    return LayerPlan(tuple(layers), tuple(notes))
