"""One training replica for the multi-worker test: calls the Trainer's ``run_fn`` the way
TFX's Trainer executor does, from a JSON description of its ``fn_args``.

Usage: python run_fn_replica.py FN_ARGS_JSON   (TF_CONFIG in the environment names the
cluster and this replica's task; without it the replica trains alone)
"""

import json
import logging
import sys
import types

from tfx_bsl.public import tfxio

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.trainer.run import run_fn


class ExampleAccessor:
    """TFX's DataAccessor for tf.Example payloads: the same tfxio the Trainer executor uses."""

    @staticmethod
    def tf_dataset_factory(file_pattern, options, schema):
        return tfxio.TFExampleRecord(file_pattern, schema=schema).TensorFlowDataset(options)


def main(path: str) -> None:
    logging.basicConfig(level=logging.INFO)  # as TFX's executor logs run_fn's lines
    with open(path) as f:
        fn_args = types.SimpleNamespace(**json.load(f))
    fn_args.data_accessor = ExampleAccessor()
    run_fn(fn_args)


if __name__ == "__main__":
    main(sys.argv[1])
