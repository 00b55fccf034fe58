"""What people read: the self-contained HTML report, its figures and samples, the model card."""
