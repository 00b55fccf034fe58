"""The package layout follows the one list of layers (.importlinter): the wheel holds every
Python file of the tree and the image receives every file the wheel holds; and the contracts
hold (one-way layers, the robustness library's sublayers, no import cycles), each a real
check that fails on a deliberately wrong import or folder."""

import importlib.util
import os
import shutil

from tests.helpers.paths import REPO

ROOT = str(REPO)
# What setup.py reads besides the layers' folders; the image must receive them all.
SETUP_INPUTS = [
    "setup.py",
    ".importlinter",
    "README.md",
    "constraints.txt",
    "robustfx/robustfx-keras2.pth",
    "kubeflow/Dockerfile",
]


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


def test_a_robustness_package_in_no_sublayer_breaks_the_sublayers():
    # A new folder of the robustness library must take its place among the sublayers.
    unlisted = {"robustness/unlisted/__init__.py": '"""In no sublayer."""\n'}
    result = _checker().check_layers(extra_files=unlisted)
    assert result.returncode != 0
    assert "presentation above verdict above attacks above models BROKEN" in result.stdout
    assert "robustfx.robustness.unlisted" in result.stdout


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


def test_the_wheel_holds_every_python_file_of_the_tree():
    checker = _checker()
    assert checker.unshipped() == []
    shipped = set(checker.wheel_modules().values())
    assert "robustness/verdict/rules.py" in shipped  # found by walking the robustness layer
    assert not {path for path in shipped if path.startswith(("tests/", "scripts/"))}


def test_a_folder_missing_from_the_layers_or_without_init_is_caught(tmp_path):
    """A copy of the layout's inputs with every layer's folder, plus: a subpackage (walked,
    so shipped), a folder without __init__.py and a top-level folder in no layer (neither
    shipped, both reported), and tests (left out of the image, so not reported)."""
    checker = _checker()
    for name in ("setup.py", ".importlinter", ".dockerignore", "README.md"):
        shutil.copy(os.path.join(ROOT, name), tmp_path / name)
    folders = {source.split("/")[0] for source in checker.wheel_modules().values()}
    for package in [*sorted(folders), "base/walked"]:
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text('"""A package."""\n')
    for loose in ("base/walked/found.py", "base/no_init/lost.py", "extra/lost.py", "tests/t.py"):
        (tmp_path / loose).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / loose).write_text('"""A module."""\n')
    assert checker.unshipped(str(tmp_path)) == ["base/no_init/lost.py", "extra/lost.py"]
    assert checker.wheel_modules(str(tmp_path))["robustfx/base/walked/found.py"] == (
        "base/walked/found.py"
    )


def test_the_image_receives_every_file_the_wheel_holds():
    checker = _checker()
    with open(os.path.join(ROOT, "kubeflow", "Dockerfile")) as f:
        copies = [line.split()[1:] for line in f if line.startswith("COPY ")]
    assert copies == [[".", "./"]]  # the whole build context; .dockerignore decides
    patterns = checker.image_excludes()
    needed = SETUP_INPUTS + sorted(set(checker.wheel_modules().values()))
    assert [path for path in needed if checker.excluded(path, patterns)] == []
    for left_out in ("tests/conftest.py", ".venv", "kubeflow/__pycache__/config.pyc"):
        assert checker.excluded(left_out, patterns), left_out
