"""The contracts in .importlinter hold (one-way layers, the robustness library's sublayers,
no import cycles), and each is a real check: it fails on a deliberately wrong import."""

import importlib.util
import os

from tests.helpers.paths import REPO

ROOT = str(REPO)


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
    assert "3 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract():
    wrong = {"base/wrong_way.py": '"""Wrong."""\nfrom robustfx.pipeline import production\n'}
    result = _checker().check_layers(extra_files=wrong)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "robustfx.base.wrong_way -> robustfx.pipeline.production" in result.stdout


def test_a_verdict_module_importing_the_presentation_breaks_the_sublayers():
    wrong = {
        "robustness/verdict/wrong_way.py": (
            '"""Wrong."""\nfrom robustfx.robustness.presentation import report\n'
        )
    }
    result = _checker().check_layers(extra_files=wrong)
    assert result.returncode != 0
    assert "presentation above verdict above attacks above models BROKEN" in result.stdout
    assert "robustfx.robustness.verdict.wrong_way -> \nrobustfx.robustness.presentation.report" in (
        result.stdout
    )


def test_an_import_cycle_breaks_the_acyclic_contract():
    # Two attack modules importing each other, the way attacks and pgd once did.
    cycle = {
        "robustness/attacks/first.py": (
            '"""One half."""\nfrom robustfx.robustness.attacks import second  # noqa\n'
        ),
        "robustness/attacks/second.py": (
            '"""The other."""\n\n\ndef f():\n    from robustfx.robustness.attacks import first\n'
        ),
    }
    result = _checker().check_layers(extra_files=cycle)
    assert result.returncode != 0
    assert "No import cycles between sibling packages or modules BROKEN" in result.stdout


def test_every_mapped_folder_is_in_a_layer():
    with open(os.path.join(ROOT, ".importlinter")) as f:
        contract = f.read()
    # A layer line may hold independent siblings: "    attacks | corruptions".
    entries = {part.strip() for line in contract.splitlines() for part in line.split("|")}
    for name in _checker().package_dirs():
        if name == "components.robustness_evaluator":
            continue  # inside the components layer
        if name.startswith("robustness."):
            assert name.split(".")[1] in entries, f"robustfx.{name} is in no sublayer"
            continue
        assert f"robustfx.{name}\n" in contract, f"robustfx.{name} is in no layer"


def test_the_image_copies_every_folder_the_package_maps():
    with open(os.path.join(ROOT, "kubeflow", "Dockerfile")) as f:
        copied = {line.split()[1] for line in f if line.startswith("COPY ")}
    folders = {folder.split("/")[0] for folder in _checker().package_dirs().values()}
    assert folders | {"robustfx"} <= copied, sorted(folders - copied)
