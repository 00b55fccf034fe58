"""The robustness library, one subpackage a job, each layer importing only those below it:

- ``models``: loading SavedModels and the signatures attacks differentiate through;
- ``attacks``: the perturbation geometry, losses, FGSM, PGD, APGD, Square, the write-ups'
  transfer attack, and the dispatch from an attack's config;
- ``corruptions`` (beside ``attacks``, independent of it): natural corruptions, MNIST-C's
  15 and ImageNet-C's RGB families, at 5 severities, seeded from each example;
- ``verdict``: the cascade on each batch, mergeable counts, metrics, the typed headline
  figures and verdict, statistics, validity checks, the blessing rules (a table), and
  ``evaluate()`` with its Beam pipeline;
- ``presentation``: the HTML report, its plots and samples, the model card, and
  ``evaluate_and_record()``, the one call of the pipeline's evaluator and the CI gate.

Pure TensorFlow, Beam and Python; no TFX.
"""
