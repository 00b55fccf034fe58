"""Helpers the tests import: real data, small real models and the project's commands.

Fixtures (``conftest.py``) hold the expensive shared state (datasets, trained models, the
pipeline runs); the functions that tests call live here, importable as ``tests.helpers.*``.
"""
