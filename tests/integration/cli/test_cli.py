"""The command line: help text, and bad input stopping before any component runs."""

import os

import pytest

from robustfx.cli import commands
from robustfx.cli import main as cli
from robustfx.data import prepare


def _run(tmp_path, *flags):
    serving = tmp_path / "serving"
    code = cli.main(
        [
            "run",
            "--data-dir",
            str(tmp_path / "tfds"),
            "--pipeline-root",
            str(tmp_path / "root"),
            "--serving-dir",
            str(serving),
            *flags,
        ]
    )
    return code, serving


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--dataset", "mnist"], "run `tfds build mnist --data_dir"),
        (["--dataset", "no_such_dataset"], "dataset 'no_such_dataset' is unknown"),
        (["--adv-step-size", "-0.1"], "adv_step_size=-0.1"),
        (["--threshold", "fgsm_linf_0.2=1.5"], "=1.5"),
        (["--threshold", "clean=-0.2"], "min_clean_accuracy=-0.2"),
        (["--adv-grad-norm", "l3"], "'l3' is not a known norm"),
        (["--attack", "fgsm_l7_0.1"], "attack name 'fgsm_l7_0.1' is unknown"),
        (["--batch-size", "0"], "batch_size=0"),
    ],
)
def test_bad_input_stops_before_any_component(tmp_path, capsys, flags, message):
    code, serving = _run(tmp_path, *flags)
    assert code == commands.EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("robustfx: error:")
    assert message in err[0]
    assert not serving.exists()
    assert not (tmp_path / "root").exists()


def test_unwritable_serving_dir_is_rejected(tmp_path, capsys, small_mnist):
    data_dir, _ = small_mnist
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = cli.main(
        [
            "run",
            "--data-dir",
            data_dir,
            "--pipeline-root",
            str(tmp_path / "root"),
            "--serving-dir",
            str(blocker / "serving"),
        ]
    )
    assert code == commands.EXIT_USAGE
    assert "serving_dir=" in capsys.readouterr().err


def test_help_documents_every_run_flag_with_its_default(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    text = capsys.readouterr().out
    for flag in [
        "--dataset",
        "--data-dir",
        "--pipeline-root",
        "--serving-dir",
        "--epochs",
        "--adv-multiplier",
        "--adv-step-size",
        "--adv-grad-norm",
        "--attack",
        "--threshold",
        "--summary-json",
        "--beam-arg",
    ]:
        assert flag in text
    assert "(default: 0.2)" in text and "(default: 15)" in text and "(default: quick)" in text


def test_data_prepare_is_idempotent(tmp_path, capsys):
    data_dir = str(tmp_path / "tfds")
    assert cli.main(["data", "prepare", "--data-dir", data_dir]) == 0
    assert "(test=1000, train=3600, validation=400)" in capsys.readouterr().out
    shard = os.path.join(
        data_dir,
        "mnist_5k",
        prepare.MNIST_5K_VERSION,
        "mnist_5k-train.tfrecord-00000-of-00001",
    )
    written = os.path.getmtime(shard)
    assert cli.main(["data", "prepare", "--data-dir", data_dir]) == 0
    assert os.path.getmtime(shard) == written
