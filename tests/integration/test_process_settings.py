"""Importing robustfx turns on oneDNN's CPU kernels before TensorFlow loads (faster attacks
on CPUs without AVX-512), only where the user has not chosen already."""

import os
import subprocess
import sys

PROBE = (
    "import os, robustfx\n"
    "from tensorflow.python.framework import test_util\n"
    "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], int(test_util.IsMklEnabled()))\n"
)


def _probe(**env) -> list:
    clean = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_onednn_is_on_by_default_and_tensorflow_uses_it():
    assert _probe() == ["1", "1"]


def test_a_users_choice_is_kept():
    assert _probe(TF_ENABLE_ONEDNN_OPTS="0") == ["0", "0"]
