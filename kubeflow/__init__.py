"""Compiling and scheduling the pipeline on Kubeflow Pipelines (KFP v2)."""
