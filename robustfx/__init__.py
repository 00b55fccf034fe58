"""robustfx: a TFX pipeline that trains, measures and gates adversarially robust image classifiers.

The repository keeps the specified top-level folders (``pipeline/``, ``components/``,
``trainer/``, ``kubeflow/``); ``setup.py`` maps them under this parent package so that
installing the project never puts generic names such as ``pipeline`` into site-packages.

Importing this package pins Keras 2 (``tf_keras``) for the process, because
neural-structured-learning only works with Keras 2 and TensorFlow reads the switch once,
when Keras is first touched.
"""

import os
import warnings

# Google's client libraries warn on every import that Python 3.10 is old; TFX 1.16 needs 3.10.
warnings.filterwarnings("ignore", message="You are using a non-supported Python version")

# Must happen before TensorFlow or Keras is first imported anywhere in the process.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# TensorFlow's C++ start-up chatter hides the pipeline's own progress lines.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN's CPU kernels: TensorFlow turns them on by itself only on CPUs with AVX-512. On an
# AVX2 machine they made the attacks 1.21 times faster (APGD 1.12, Square 1.24) with
# run-to-run identical results (``onednn_vs_eigen`` in benchmarks/results.json). Set
# TF_ENABLE_ONEDNN_OPTS=0 to get TensorFlow's own default back.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"


def __getattr__(name: str):
    """The project's own TFX artifact types, importable by the dotted name their TYPE_NAME
    spells (``robustfx.ProductionModel``): TFX's Kubeflow entrypoint finds a custom artifact
    class by importing its schema title. Imported on first use, so that importing robustfx
    stays light (TensorFlow and TFX load later)."""
    if name == "ProductionModel":
        from robustfx.components.production_model.spec import ProductionModelPointer

        return ProductionModelPointer
    raise AttributeError(f"module 'robustfx' has no attribute {name!r}")
