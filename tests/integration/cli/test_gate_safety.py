"""`robustfx gate` pointed at an untrusted model: refused with exit 2 before anything of it
runs, with nothing written, whatever the op does (files, Python, printing, a dataset reader, a
custom kernel); `--allow-op`, the input shape and the time limit."""

import json
import os
import time

import pytest

from robustfx.cli import commands
from tests.helpers.gate_runs import run_gate
from tests.helpers.hostile_models import FORGED_OP, hostile_payloads, save_forged_kernel_model
from tests.helpers.models import save_untrusted_model, untrusted_payloads


def _gate(small_mnist, model_dir, tmp_path, *flags):
    return run_gate(
        small_mnist[0], model_dir, tmp_path, "--attack", "fgsm_linf_0.2",
        "--eval-batch-size", "100", "--corruptions", "none",
        "--threshold", "clean=0", "--threshold", "worst_case=0", *flags,
    )  # fmt: skip


HOSTILE = ["WriteFile", "ReadFile", "MatchingFiles", "EagerPyFunc", "PrintV2", "TextLineDataset"]


def _hostile_model(directory, target, op) -> str:
    if op == FORGED_OP:
        return save_forged_kernel_model(directory)
    payloads = {**untrusted_payloads(str(target)), **hostile_payloads(str(target))}
    return save_untrusted_model(directory, payloads[op])


@pytest.mark.parametrize("op", [*HOSTILE, FORGED_OP])
def test_an_attacker_is_refused_with_exit_2_and_nothing_written(
    small_mnist, tmp_path, target, capsys, op
):
    model_dir = _hostile_model(tmp_path / "model", target, op)
    code, out = _gate(small_mnist, model_dir, tmp_path)
    assert code == commands.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("robustfx: model error: model ") and "is refused before anything" in err
    assert f"op '{op}'" in err and "reached from signature 'serving_transformed'" in err
    assert sorted(os.listdir(target)) == ["secret"]  # not written, nor anything beside it
    assert not out.exists()


def test_allow_op_lets_it_through_recorded_and_run_under_limits(
    small_mnist, tmp_path, target, capsys
):
    """Allowed, the same model really writes its file: the check is what stopped it. The
    evaluation runs in the watched child process and its result comes back."""
    model_dir = save_untrusted_model(
        tmp_path / "model", untrusted_payloads(str(target))["WriteFile"]
    )
    code, out = _gate(
        small_mnist,
        model_dir,
        tmp_path,
        "--allow-op",
        "WriteFile",
        "--time-limit",
        "600",
        "--memory-limit",
        "16000",
    )
    assert code == commands.EXIT_OK
    result = json.loads(out.read_text())
    assert result["graph_checks"]["candidate"]["allowed_by_flag"] == ["WriteFile"]
    # Decided early in the child process: the first round's 128 examples settled every rule.
    assert result["metrics"]["candidate"]["num_examples"] == 128
    assert result["decided_early"]["stopped_after_round"] == 1
    assert "let through by --allow-op: `WriteFile`" in capsys.readouterr().out
    assert (target / "written_by_the_model").exists()


def test_a_model_for_other_images_is_refused_before_it_runs(small_mnist, tmp_path, capsys):
    model_dir = save_untrusted_model(tmp_path / "model", image_shape=(28, 28, 3))
    code, out = _gate(small_mnist, model_dir, tmp_path)
    assert code == commands.EXIT_USAGE
    assert "takes 3-channel images, the dataset has 1 channels" in capsys.readouterr().err
    assert not out.exists()


def test_the_time_limit_stops_a_slow_model_with_exit_2(small_mnist, tmp_path, capsys):
    """Every op of a long tf.while_loop is allowed: only the limit can stop it."""
    import tensorflow as tf

    def spin(image):
        start, forever = tf.constant(0, tf.int64), tf.constant(10**15, tf.int64)
        return tf.while_loop(lambda step: step < forever, lambda step: step + 1, [start])[0]

    model_dir = save_untrusted_model(tmp_path / "model", spin)
    start = time.monotonic()
    code, out = _gate(small_mnist, model_dir, tmp_path, "--time-limit", "20")
    assert code == commands.EXIT_USAGE
    assert time.monotonic() - start < 80
    err = capsys.readouterr().err
    assert "was stopped and the model refused: it ran" in err and "past --time-limit 20" in err
    assert not out.exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--allow-op", "Write/File"], "is not a TensorFlow op name"),
        (["--time-limit", "0"], "limits time_limit=0.0 is invalid"),
        (["--memory-limit", "lots"], "--memory-limit 'lots' is invalid"),
    ],
)
def test_bad_safety_flags_exit_2(small_mnist, tmp_path, trained_model_dir, capsys, flags, message):
    code, _ = _gate(small_mnist, trained_model_dir, tmp_path, *flags)
    assert code == commands.EXIT_USAGE
    assert message in capsys.readouterr().err
