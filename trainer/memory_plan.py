"""What a run will hold in memory, estimated before any component starts, without TensorFlow.

A local run executes every component in one process. Its peak is the larger of two phases:

- **training**: the process itself, the activations of one training batch kept for the
  backward pass (NSL's adversarial loss holds the clean and the perturbed batch's at once),
  the bounded shuffle buffer of encoded records, and the decoded batches in flight;
- **attack**: the process, and per attacked example its activations during one gradient
  pass plus the attack's own copies of the image (current, best, gradient, momentum, ...).

Both grow with the batch and the image area, never with the size of the split: records are
streamed. The factors are calibrated against peaks measured on this project's runs (see the
README's "Real-size images" figures); they are upper estimates, so a refused run would not
have fit, and a run that passes may still need less.
"""

import dataclasses
from typing import Optional, Sequence

from robustfx.base.training_config import AdversarialConfig, ModelConfig
from robustfx.trainer.layer_plan import plan_layers

MIB = 2**20
FLOAT_BYTES = 4
PROCESS_BYTES = 1536 * MIB  # TensorFlow, TFX and Beam imported, models loaded
SHUFFLE_BUFFER_BYTES = 64 * MIB  # the input pipeline's bound on buffered encoded records
BATCHES_IN_FLIGHT = 3  # decoded batches prefetched while one trains
# Activation bytes held per training example, as a multiple of one forward pass's
# activations: the forward pass kept for backprop plus the gradients being formed.
CLEAN_STEP_FACTOR = 2.0
ADVERSARIAL_STEP_FACTOR = 4.0  # the clean and the perturbed forward passes, both kept
ATTACK_GRADIENT_FACTOR = 2.0  # one forward pass kept for its input gradient
ATTACK_IMAGE_COPIES = 10  # APGD's current, best, previous, gradient, momentum, ...


@dataclasses.dataclass(frozen=True)
class MemoryEstimate:
    """Estimated peak bytes of each phase of a run."""

    training: int
    attack: int

    @property
    def peak(self) -> int:
        return max(self.training, self.attack)


def activation_floats(model: ModelConfig, image_shape: Sequence[int], num_classes: int) -> int:
    """Floats of one example's forward pass: the input, each conv output and its pooling,
    the dense layer and the logits."""
    height, width, channels = (int(side) for side in image_shape)
    total = height * width * channels
    for layer in plan_layers(model, image_shape).layers:
        conv_h, conv_w = layer.conv_output
        total += conv_h * conv_w * layer.filters
        if layer.pool:
            total += layer.output[0] * layer.output[1] * layer.filters
    return total + model.dense_units + num_classes


def estimate(
    model: ModelConfig,
    adversarial: AdversarialConfig,
    image_shape: Sequence[int],
    num_classes: int,
    batch_size: int,
    eval_batch_size: int,
) -> MemoryEstimate:
    """The peak of each phase for this model, image shape and batches."""
    activation_bytes = activation_floats(model, image_shape, num_classes) * FLOAT_BYTES
    image_bytes = FLOAT_BYTES
    for side in image_shape:
        image_bytes *= int(side)
    step = ADVERSARIAL_STEP_FACTOR if adversarial.enabled else CLEAN_STEP_FACTOR
    training = (
        PROCESS_BYTES
        + SHUFFLE_BUFFER_BYTES
        + int(batch_size * activation_bytes * step)
        + BATCHES_IN_FLIGHT * batch_size * image_bytes
    )
    per_attacked = activation_bytes * ATTACK_GRADIENT_FACTOR + image_bytes * ATTACK_IMAGE_COPIES
    attack = PROCESS_BYTES + int(eval_batch_size * per_attacked)
    return MemoryEstimate(training=training, attack=attack)


def largest_batch(fixed: int, per_example: float, available: int) -> int:
    """The largest batch whose estimate fits in ``available`` bytes (0 if none does)."""
    return max(0, int((available - fixed) // per_example)) if per_example > 0 else 0


def refusal(
    need: MemoryEstimate,
    available: int,
    batch_size: int,
    eval_batch_size: int,
    usable_fraction: float = 0.9,
) -> Optional[str]:
    """Why the run cannot fit in ``available`` bytes, naming the flag that fixes it; None
    when it fits."""
    budget = int(available * usable_fraction)
    if need.peak <= budget:
        return None
    gib = 2**30
    if need.training >= need.attack:
        per_example = (need.training - PROCESS_BYTES - SHUFFLE_BUFFER_BYTES) / batch_size
        fits = largest_batch(PROCESS_BYTES + SHUFFLE_BUFFER_BYTES, per_example, budget)
        phase, flag, current = "training", "--batch-size", batch_size
    else:
        per_example = (need.attack - PROCESS_BYTES) / eval_batch_size
        fits = largest_batch(PROCESS_BYTES, per_example, budget)
        phase, flag, current = "the attack suite", "--eval-batch-size", eval_batch_size
    fix = f"use {flag} {fits} or less" if fits >= 1 else "use --resize to smaller images"
    return (
        f"this run needs about {need.peak / gib:.1f} GiB for {phase} ({flag} {current}) but "
        f"{available / gib:.1f} GiB of memory is available: {fix}"
    )
