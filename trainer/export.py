"""Exports the trained base model with the project's two serving signatures.

* ``serving_default``: serialized raw ``tf.Example``s (encoded image bytes) in, class
  probabilities and the predicted class out. The Transform graph is inside, so clients send
  exactly what TFDS stores.
* ``serving_transformed``: float images in [0, 1] in, logits, probabilities and classes out.
  Evaluators differentiate through it for white-box attacks.
* ``conv_activations``: float images in, each conv layer's activations out (keyed by layer
  name), for the activation maps of the robustness report.

The base model is exported, never the NSL wrapper: serving needs no labels and no
adversarial loss.
"""

from typing import Sequence

import tensorflow as tf
import tensorflow_transform as tft

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base import keys
from robustfx.trainer.model import conv_layer_names


def _prediction_outputs(logits: tf.Tensor) -> dict:
    return {
        keys.LOGITS_KEY: logits,
        keys.PROBABILITIES_KEY: tf.nn.softmax(logits, axis=-1),
        keys.CLASSES_KEY: tf.argmax(logits, axis=-1),
    }


def export_serving_model(
    base_model: tf.keras.Model,
    tft_output: tft.TFTransformOutput,
    image_shape: Sequence[int],
    export_dir: str,
) -> None:
    """Saves ``base_model`` as a SavedModel with all three signatures."""
    base_model.tft_layer = tft_output.transform_features_layer()
    raw_spec = tft_output.raw_feature_spec()
    raw_spec.pop(keys.LABEL_KEY, None)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=keys.SERVING_INPUT_KEY)])
    def serve_examples(serialized: tf.Tensor) -> dict:
        parsed = tf.io.parse_example(serialized, raw_spec)
        transformed = base_model.tft_layer(parsed)
        logits = base_model(transformed[keys.IMAGE_KEY], training=False)
        outputs = _prediction_outputs(logits)
        del outputs[keys.LOGITS_KEY]
        return outputs

    signatures = {
        keys.SERVING_SIGNATURE: serve_examples.get_concrete_function(),
        **image_signatures(base_model, image_shape),
    }
    base_model.save(export_dir, save_format="tf", signatures=signatures)


def image_signatures(base_model: tf.keras.Model, image_shape: Sequence[int]) -> dict:
    """The signatures on transformed images: predictions (with logits) and activations."""
    image_spec = tf.TensorSpec([None, *image_shape], tf.float32, name=keys.IMAGE_KEY)

    @tf.function(input_signature=[image_spec])
    def serve_transformed(image: tf.Tensor) -> dict:
        return _prediction_outputs(base_model(image, training=False))

    conv_names = conv_layer_names(base_model)
    base_model.activation_model = tf.keras.Model(
        base_model.inputs, [base_model.get_layer(name).output for name in conv_names]
    )

    @tf.function(input_signature=[image_spec])
    def conv_activations(image: tf.Tensor) -> dict:
        outputs = base_model.activation_model(image, training=False)
        if len(conv_names) == 1:
            outputs = [outputs]
        return dict(zip(conv_names, outputs, strict=True))

    return {
        keys.TRANSFORMED_SIGNATURE: serve_transformed.get_concrete_function(),
        keys.ACTIVATIONS_SIGNATURE: conv_activations.get_concrete_function(),
    }
