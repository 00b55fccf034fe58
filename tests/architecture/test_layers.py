"""The layers contract in .importlinter holds, and it is a real check: it fails on a
deliberately wrong import."""

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _checker():
    spec = importlib.util.spec_from_file_location(
        "check_layers", os.path.join(ROOT, "scripts", "check_layers.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_layers_contract_is_kept():
    result = _checker().check_layers()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract():
    wrong = {"base/wrong_way.py": '"""Wrong."""\nfrom robustfx.pipeline.graph import production\n'}
    result = _checker().check_layers(extra_files=wrong)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "robustfx.base.wrong_way -> robustfx.pipeline.graph.production" in result.stdout


def test_every_mapped_folder_is_in_a_layer():
    with open(os.path.join(ROOT, ".importlinter")) as f:
        contract = f.read()
    for name in _checker().package_dirs():
        top = name.split(".")[0] if not name.startswith("pipeline") else name
        if top in ("pipeline", "components.robustness_evaluator"):
            continue  # parents of layers, or inside one
        assert f"robustfx.{top}" in contract, f"robustfx.{top} is in no layer"
