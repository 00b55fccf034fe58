"""Packaging for robustfx.

The repository keeps the specified top-level folders (pipeline/, components/, trainer/,
kubeflow/) beside the project's own (cli/, data/, robustness/, base/), one folder a layer.
They install as subpackages of one parent package, ``robustfx``, through ``package_dir``:
``robustfx.pipeline``, ``robustfx.components`` and so on. Installing never adds bare
generic names such as ``pipeline`` or ``kubeflow`` (a namespace other PyPI packages use) to
site-packages, and every import in the project is absolute under ``robustfx``.

The layers are listed once, top to bottom, in the import contract (``.importlinter``). Every
Python package under a layer's folder is installed, found by walking the folder, so a new
subfolder with an ``__init__.py`` needs no entry anywhere; a new layer is one line there.
``tests/unit/architecture`` checks that the wheel holds every Python file of the tree.
"""

import configparser
import sys

from setuptools import find_packages, setup

KERAS2_PTH = "robustfx/robustfx-keras2.pth"
LAYERS_FILE = ".importlinter"  # setup.py runs from the repository root


def layers() -> list:
    """The top-level layers (folder names), top to bottom, as the layers contract lists them."""
    contracts = configparser.ConfigParser()
    with open(LAYERS_FILE) as f:
        contracts.read_file(f)
    listed = contracts["importlinter:contract:layers"]["layers"].replace("|", " ").split()
    return [name.split(".", 1)[1] for name in listed]  # robustfx.cli -> cli


def package_dirs() -> dict:
    """Every installed package (``robustfx.<layer>...``) -> its folder in the repository."""
    mapping = {"robustfx": "robustfx"}
    for layer in layers():
        mapping[f"robustfx.{layer}"] = layer
        for package in find_packages(where=layer):
            mapping[f"robustfx.{layer}.{package}"] = "/".join([layer, *package.split(".")])
    return mapping


PACKAGE_DIRS = package_dirs()

setup(
    name="robustfx",
    version="0.1.0",
    description="A TFX pipeline that trains, measures and gates adversarially robust "
    "image classifiers.",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10,<3.11",
    packages=sorted(PACKAGE_DIRS),
    package_dir=PACKAGE_DIRS,
    package_data={"robustfx.kubeflow": ["Dockerfile"]},
    # Keras 2 for every Python process of the environment the project is installed in, not
    # only those that import robustfx: Beam's SDK workers (portable runner, Flink, Spark,
    # Dataflow) run TFMA and load the Trainer's SavedModel before any project code runs.
    data_files=[
        (f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages", [KERAS2_PTH])
    ],
    # The exact, tested versions live in constraints.txt; these are the direct needs.
    install_requires=[
        "tfx[kfp]==1.16.0",
        "tensorflow==2.16.2",
        "tf-keras==2.16.0",
        "neural-structured-learning==1.4.0",
        "tensorflow-datasets>=4.9,<4.10",
        "mlxtend==0.23.4",
        "dill",
        "matplotlib",
        "psutil",  # the gate's time and memory limits watch the evaluation's processes
        "tensorflow-io==0.37.1",  # s3:// for tf.io.gfile (the last release for TF 2.16)
        "apache-beam[aws]",  # Beam's S3 filesystem (boto3); Beam's version comes with tfx
    ],
    extras_require={
        "test": [
            "pytest",
            "pytest-randomly",  # every run in a new order: no test depends on another
            "pytest-xdist",  # scripts/test runs the suite on both cores
            "ruff",
            "import-linter",
            "gcp-storage-emulator",
            "portpicker",
        ]
    },
    entry_points={"console_scripts": ["robustfx=robustfx.cli.main:main"]},
)
