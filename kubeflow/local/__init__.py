"""`robustfx kfp run-local`: a compiled KFP spec executed on this machine as open-source KFP's
driver and launcher would (its rules, its cache keys, its ML Metadata records)."""
