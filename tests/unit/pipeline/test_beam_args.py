"""The local Beam args do no needless work: no Prism download attempt per Beam pipeline, and
no TFX source package built for every Beam component."""

import logging

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from tfx.utils import dependency_utils

from robustfx.base.beam_config import DIRECT_RUNNER_ARGS


def test_the_direct_runner_does_not_try_prism(caplog):
    with caplog.at_level(logging.INFO):
        with beam.Pipeline(options=PipelineOptions(list(DIRECT_RUNNER_ARGS))) as pipeline:
            _ = pipeline | beam.Create([1, 2, 3]) | beam.Map(lambda x: x * 2)
    assert "PrismRunner" not in caplog.text and "prism" not in caplog.text.lower()


def test_tfx_builds_no_source_package_for_the_local_runner(monkeypatch):
    def fail():
        raise AssertionError("TFX built its source package")

    monkeypatch.setattr(dependency_utils, "build_ephemeral_package", fail)
    args = list(DIRECT_RUNNER_ARGS)
    assert dependency_utils.make_beam_dependency_flags(args) == args
