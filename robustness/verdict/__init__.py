"""The verdict: attacks run as a cascade on each batch, counts merged over the split, metrics
with intervals, paired tests, validity checks and the blessing rules, behind ``evaluate()``."""
