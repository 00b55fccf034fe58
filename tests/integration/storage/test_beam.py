"""Beam's S3 filesystem (boto3) on a real S3 API, configured by the standard variables alone:
the DirectRunner the local runs and the Kubeflow tasks use writes and reads tfrecords."""

import apache_beam as beam
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from robustfx.base import remote_storage
from robustfx.base.beam_config import DIRECT_RUNNER_ARGS
from tests.helpers import s3_server

RECORDS = [tf.train.Example().SerializeToString()] + [f"record {i}".encode() for i in range(50)]


def test_direct_runner_writes_and_reads_tfrecords_on_s3(s3):
    remote_storage.enable([s3.url()])
    prefix = s3.url("beam", "examples")
    options = PipelineOptions(list(DIRECT_RUNNER_ARGS))
    with beam.Pipeline(options=options) as pipeline:
        _ = (
            pipeline
            | beam.Create(RECORDS)
            | beam.io.WriteToTFRecord(prefix, file_name_suffix=".gz", num_shards=2)
        )
    shards = s3_server.object_keys(s3, "beam/examples")
    assert len(shards) == 2 and all(key.endswith(".gz") for key in shards)

    with beam.Pipeline(options=options) as pipeline:
        read = pipeline | beam.io.ReadFromTFRecord(f"{prefix}*")
        assert_that(read, equal_to(RECORDS))
    # TensorFlow reads what Beam wrote: the same objects through the other client.
    files = tf.io.gfile.glob(f"{prefix}*")
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    assert sorted(record.numpy() for record in dataset) == sorted(RECORDS)
