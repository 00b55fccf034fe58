"""The robustness library: attacks, suites, metrics, statistics and blessing rules.

Pure TensorFlow, Beam and Python; no TFX.
"""
