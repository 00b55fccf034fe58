"""`robustfx gate`'s flags for a model it did not export: --signature, --input-key,
--output-key and --input-scale build the gate's ModelInterfaceConfig; a scale other than 1 or
255 stops the command before anything runs."""

import pytest

from robustfx.base.model_interface_config import ModelInterfaceConfig
from robustfx.base.validation import ConfigError
from robustfx.cli import commands
from robustfx.cli.main import build_parser


def _interface(*flags) -> ModelInterfaceConfig:
    return commands.gate_config(build_parser().parse_args(["gate", *flags])).interface


def test_the_defaults_find_everything_in_the_signatures():
    assert _interface() == ModelInterfaceConfig(signature="", input_key="", output_key="")
    assert _interface().input_scale == 1


def test_the_flags_name_signature_keys_and_scale():
    interface = _interface(
        "--signature",
        "serving_default",
        "--input-key",
        "input_1",
        "--output-key",
        "dense_1",
        "--input-scale",
        "255",
    )
    assert interface == ModelInterfaceConfig("serving_default", "input_1", "dense_1", 255)


def test_another_scale_is_refused(capsys):
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["gate", "--input-scale", "100"])
    assert stopped.value.code == commands.EXIT_USAGE
    assert "--input-scale: invalid choice: '100'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="input_scale=100 is unknown: use one of 1, 255"):
        ModelInterfaceConfig(input_scale=100)
