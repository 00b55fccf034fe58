"""How a SavedModel is called for attack, read from ``saved_model.pb`` before it runs.

The project's own exports have ``serving_transformed`` (float images in [0, 1] in, ``logits``
out); a model saved with ``model.save(path)`` has ``serving_default``, named after its own
layers, often ending in a softmax and taking pixels in [0, 255]. ``read_interface`` picks:

- the signature: the one asked for, else ``serving_transformed`` when present, else
  ``serving_default``;
- its image input: its one input, float, shaped ``[batch, height, width, channels]`` (or
  ``[batch, height, width]`` for one channel), whose channels and sides fit the dataset's
  images (unknown sides take the dataset's);
- its class-score output: the one float output shaped ``[batch, classes]`` for the dataset's
  classes; among several, the one named ``logits``.

``--output-key`` decides between several outputs; ``--input-key`` names the input to make
sure. Whether the output holds logits or probabilities is read from the model's answers on
clean data (``scores``). Every refusal is one line naming what was found.
"""

import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

from robustfx.base import keys
from robustfx.base.model_interface_config import ModelInterfaceConfig
from robustfx.robustness.models.saved_model_pb import ModelSignatureError, read_saved_model

LOGITS, PROBABILITIES = "logits", "probabilities"
# A model trained with --resize takes other sides than the records have (the evaluation
# resizes the decoded images to its input); beyond this many times a side, the resize is
# a cost the model imposes, not a recipe.
MAX_UPSCALE = 4
_FLOAT_TYPES = ("DT_FLOAT", "DT_HALF", "DT_DOUBLE", "DT_BFLOAT16")
_DEFAULT_SIGNATURES = (keys.TRANSFORMED_SIGNATURE, keys.SERVING_SIGNATURE)


@dataclasses.dataclass(frozen=True)
class ModelInterface:
    """Which signature, input and output the attacks use, and how pixels and scores map."""

    signature: str
    input_key: str
    output_key: str
    image_shape: Tuple[int, int, int]  # (height, width, channels) the attacks work on
    with_channels: bool = True  # False: the input is [batch, height, width] (one channel)
    input_dtype: str = "float32"
    input_scale: int = 1  # the model takes pixels in [0, input_scale]
    output: str = LOGITS  # what the output holds: LOGITS or PROBABILITIES

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelInterface":
        return cls(**{**data, "image_shape": tuple(data["image_shape"])})

    def describe(self) -> str:
        shape = list(self.image_shape if self.with_channels else self.image_shape[:2])
        attacked = " (attacked as log-probabilities)" if self.output == PROBABILITIES else ""
        return (
            f"signature '{self.signature}': input '{self.input_key}' {shape} in [0, "
            f"{self.input_scale}], output '{self.output_key}' as {self.output}{attacked}"
        )


def _dims(info) -> Optional[List[Optional[int]]]:
    if info.tensor_shape.unknown_rank:
        return None
    return [int(d.size) if d.size >= 0 else None for d in info.tensor_shape.dim]


def _shown(name: str, info) -> str:
    from tensorflow.core.framework import types_pb2

    dims = _dims(info)
    return f"{name} {types_pb2.DataType.Name(info.dtype)} {'?' if dims is None else dims}"


def _is_float(info) -> bool:
    from tensorflow.core.framework import types_pb2

    return types_pb2.DataType.Name(info.dtype) in _FLOAT_TYPES


def _signature(model_dir: str, name: str) -> Tuple[str, object]:
    """(name, SignatureDef): the one asked for, or the first default the model has."""
    saved = read_saved_model(model_dir)
    found = {k: v for g in saved.meta_graphs for k, v in g.signature_def.items()}
    found = {k: v for k, v in found.items() if not k.startswith("__")}  # the init op
    wanted = [name] if name else [n for n in _DEFAULT_SIGNATURES if n in found]
    if not wanted or wanted[0] not in found:
        looked_for = (
            f"'{name}' signature"
            if name
            else "'{}' signature, nor '{}'".format(*_DEFAULT_SIGNATURES)
        )
        raise ModelSignatureError(
            f"model {model_dir} has no {looked_for} (it has {sorted(found)}): name the one "
            "that takes images with --signature, or export it with robustfx.trainer.export"
        )
    return wanted[0], found[wanted[0]]


def _output_key(where: str, outputs: Dict[str, object], fits, asked: str, what: str) -> str:
    """The output asked for, the one that fits, or among several the one named 'logits'."""
    listed = "; ".join(_shown(name, info) for name, info in sorted(outputs.items()))
    if asked and asked not in outputs:
        raise ModelSignatureError(f"{where} has no output '{asked}' (--output-key): {listed}")
    fitting = [asked] if asked else sorted(n for n, info in outputs.items() if fits(info))
    if len(fitting) > 1 and keys.LOGITS_KEY in fitting:
        return keys.LOGITS_KEY
    if len(fitting) > 1:
        raise ModelSignatureError(
            f"{where} has {len(fitting)} candidates for its {what} ({listed}): name one with "
            "--output-key"
        )
    if not fitting or not fits(outputs[fitting[0]]):
        raise ModelSignatureError(
            f"{where} has no {what} (it has {listed}): the gate needs [batch, classes] scores"
        )
    return fitting[0]


def _input_key(where: str, inputs: Dict[str, object], asked: str) -> str:
    listed = "; ".join(_shown(name, info) for name, info in sorted(inputs.items()))
    if asked and asked not in inputs:
        raise ModelSignatureError(f"{where} has no input '{asked}' (--input-key): {listed}")
    if len(inputs) != 1:
        raise ModelSignatureError(
            f"{where} takes {len(inputs)} inputs ({listed}): the gate feeds it images only"
        )
    return next(iter(inputs))


def _class_scores_for(num_classes: Optional[int]):
    def fits(info) -> bool:
        dims = _dims(info)
        ok = _is_float(info) and dims is not None and len(dims) == 2
        return ok and (num_classes is None or dims[1] in (None, num_classes))

    return fits


def _image_shape(where: str, info, data_shape: Optional[Sequence[Optional[int]]]) -> tuple:
    """(height, width, channels) the input takes; refuses what cannot take the data."""
    from tensorflow.core.framework import types_pb2

    dims = _dims(info) or []
    data = list(data_shape) if data_shape else [None, None, None]
    sides = [side or given for side, given in zip(dims[1:3], data[:2], strict=False)]
    channels = dims[3] if len(dims) == 4 else 1
    problem, fix = None, "name the signature that takes float images with --signature"
    if not _is_float(info):
        problem = f"takes {types_pb2.DataType.Name(info.dtype)} images: an attack needs floats"
    elif len(dims) not in (3, 4) or None in sides or channels is None:
        shape = "?" if info.tensor_shape.unknown_rank else dims
        problem = (
            f"takes images of shape {shape}, not [batch, height, width, channels] with known sides"
        )
    elif dims[0] is not None:
        problem = f"takes batches of exactly {dims[0]} images"
        fix = "export it with a free batch dimension (None)"
    else:
        fix = "gate it on the dataset it was trained for (--dataset)"
        if data[2] and channels != data[2]:
            problem = f"takes {channels}-channel images, the dataset has {data[2]} channels"
        elif any(d and side > MAX_UPSCALE * d for side, d in zip(sides, data[:2], strict=True)):
            problem = (
                f"takes {sides[0]}x{sides[1]} images, more than {MAX_UPSCALE} times the "
                f"dataset's {data[0]}x{data[1]} per side"
            )
    if problem:
        raise ModelSignatureError(f"{where} {problem}: it is refused before it runs; {fix}")
    return (int(sides[0]), int(sides[1]), int(channels))


def read_interface(
    model_dir: str,
    request: Optional[ModelInterfaceConfig] = None,
    num_classes: Optional[int] = None,
    data_shape: Optional[Sequence[Optional[int]]] = None,
) -> ModelInterface:
    """The signature, image input and class-score output the attacks use, from
    ``saved_model.pb`` alone (nothing is loaded or run). The output is taken for logits
    until ``scores.detect_output`` has seen the model's answers.

    Args:
      request: what the user named (``--signature``, ``--input-key``, ``--output-key``,
        ``--input-scale``); the defaults find everything.
      num_classes: the dataset's classes; an output for other classes is refused.
      data_shape: the dataset's (height, width, channels), sides may be None.

    Raises:
      ModelSignatureError: one line naming the signature, what it has and the flag to use.
    """
    from tensorflow.python.framework import dtypes

    request = request or ModelInterfaceConfig()
    name, signature = _signature(model_dir, request.signature)
    where = f"model {model_dir} signature '{name}'"
    inputs, outputs = dict(signature.inputs), dict(signature.outputs)
    input_key = _input_key(where, inputs, request.input_key)
    what = f"class-score output for {num_classes} classes" if num_classes else "score output"
    fits = _class_scores_for(num_classes)
    output_key = _output_key(where, outputs, fits, request.output_key, what)
    info = inputs[input_key]
    return ModelInterface(
        signature=name,
        input_key=input_key,
        output_key=output_key,
        image_shape=_image_shape(where, info, data_shape),
        with_channels=len(_dims(info) or []) == 4,
        input_dtype=dtypes.as_dtype(info.dtype).name,
        input_scale=request.input_scale,
    )
