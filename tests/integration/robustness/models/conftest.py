"""Models exported by the project's own code (``trainer/export.py``), with a real Transform
graph written by TFT's Beam implementation from the project's ``preprocessing_fn``."""

import functools
import os

import numpy as np
import pytest

# Each variant of what the Trainer exports: the default MNIST graph (PNG, no resize, two
# conv layers so that pooling is in it) and the beans-like graph (RGB JPEG, --resize).
EXPORTS = {
    "mnist_png": {"image_shape": (28, 28, 1), "resize": None, "format": "png"},
    "rgb_jpeg_resized": {"image_shape": (40, 30, 3), "resize": [16, 16], "format": "jpeg"},
}
RAW_KEYS = ("image", "label")


def _write_transform_graph(directory: str, variant: dict) -> str:
    import apache_beam as beam
    import tensorflow as tf
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

    from robustfx.trainer import preprocessing

    encode = tf.io.encode_png if variant["format"] == "png" else tf.io.encode_jpeg
    records = [
        {"image": encode(np.zeros(variant["image_shape"], np.uint8)).numpy(), "label": label}
        for label in range(3)
    ]
    spec = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
    }
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
    custom_config = {
        "image_shape": list(variant["image_shape"]),
        "num_classes": 3,
        "resize": variant["resize"],
    }
    fn = functools.partial(preprocessing.preprocessing_fn, custom_config=custom_config)
    transform_dir = os.path.join(directory, "transform_graph")
    with (
        beam.Pipeline() as pipeline,
        tft_beam.Context(temp_dir=os.path.join(directory, "tmp"), force_tf_compat_v1=False),
    ):
        transform_fn = (pipeline | beam.Create(records), metadata) | tft_beam.AnalyzeDataset(fn)
        _ = transform_fn | tft_beam.WriteTransformFn(transform_dir)
        _ = metadata | tft_beam.WriteMetadata(
            os.path.join(transform_dir, tft.TFTransformOutput.RAW_METADATA_DIR), pipeline
        )
    return transform_dir


@pytest.fixture(scope="session")
def project_exports(tmp_path_factory):
    """Variant name -> SavedModel directory, exported by ``export_serving_model`` with all
    three signatures."""
    import tensorflow_transform as tft

    from robustfx.base.training_config import ModelConfig
    from robustfx.trainer.custom_config import output_image_shape
    from robustfx.trainer.export import export_serving_model
    from robustfx.trainer.model import build_cnn

    exports = {}
    for name, variant in EXPORTS.items():
        directory = str(tmp_path_factory.mktemp(name))
        tft_output = tft.TFTransformOutput(_write_transform_graph(directory, variant))
        shape = output_image_shape(variant["image_shape"], variant["resize"])
        model = build_cnn(ModelConfig(conv_filters=(4, 8), dense_units=8), shape, 3)
        exports[name] = os.path.join(directory, "serving_model")
        export_serving_model(model, tft_output, shape, exports[name])
    return exports


@pytest.fixture(scope="session")
def architecture_models(tmp_path_factory):
    """Architecture name -> SavedModel directory with a ``serving_default`` signature: the
    Keras applications at their smallest input, a Vision Transformer block and a CNN that
    resizes and pads inside, untrained (``tests.helpers.architectures``)."""
    from tests.helpers import architectures

    builders = {
        name: functools.partial(architectures.build_application, name)
        for name in architectures.APPLICATIONS
    }
    builders["vit_block"] = architectures.build_vit_block
    builders["resize_and_pad"] = architectures.build_resize_and_pad_cnn
    root = tmp_path_factory.mktemp("architectures")
    return {
        name: architectures.save_inference_signature(build(), root / name)
        for name, build in builders.items()
    }
