"""``ModelInterfaceConfig``: how the gate calls a SavedModel it did not export, when what it
finds in the model's signatures is not enough (``robustness.models.model_interface``)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from robustfx.base.settings import setting
from robustfx.base.validation import check_choice

INPUT_SCALES = (1, 255)  # the pixel range the model takes: [0, 1] or [0, 255]


@dataclasses.dataclass(frozen=True)
class ModelInterfaceConfig:
    """Which signature, input and output the attacks use, and the pixel scale the model
    takes; empty names are found from the signatures."""

    CLI_GROUP: ClassVar[str] = "how the models are called (found from their signatures)"

    signature: str = setting(
        "",
        flag="--signature",
        metavar="NAME",
        help="Signature the attacks differentiate through (default: serving_transformed when "
        "the model has it, else serving_default).",
    )
    input_key: str = setting(
        "",
        flag="--input-key",
        metavar="KEY",
        help="The signature's image input (default: its one float input shaped [batch, "
        "height, width, channels] or [batch, height, width]).",
    )
    output_key: str = setting(
        "",
        flag="--output-key",
        metavar="KEY",
        help="The signature's class-score output (default: its one float output shaped "
        "[batch, classes]; 'logits' when there are several).",
    )
    input_scale: int = setting(
        1,
        flag="--input-scale",
        choices=[str(scale) for scale in INPUT_SCALES],
        metavar="{1,255}",
        parse=int,
        help="Pixel scale the model takes: 1 for [0, 1], 255 for [0, 255]. Epsilon stays in "
        "[0, 1] pixel units, so it means the same for every model.",
    )

    def __post_init__(self) -> None:
        check_choice("model interface input_scale", self.input_scale, INPUT_SCALES)
