"""`robustfx run` with the settings of the shared e2e run (see the ``first_run`` fixture)."""

from robustfx.cli import main as cli

PIPELINE_NAME = "robustfx-e2e"
# The training and gate settings of the shared run; other tests reuse them to compare. One
# point of the epsilon sweep beside the threat model instead of three: every run that uses
# these settings judges a fifth faster.
RUN_FLAGS = ("--epochs", "2", "--epsilon-sweep", "0.5",
             "--threshold", "clean=0.5", "--threshold", "worst_case=0.05",
             "--threshold", "corruption_mean=0.1", "--threshold", "corruption_worst=0")  # fmt: skip


def run_e2e(data_dir, root, serving, summary, *flags, pipeline_name=PIPELINE_NAME) -> int:
    """`robustfx run` on ``root/pipeline_root`` with the shared settings (flags override)."""
    return cli.main(
        ["run", "--data-dir", data_dir, "--pipeline-name", pipeline_name,
         "--pipeline-root", str(root / "pipeline_root"), "--serving-dir", str(serving),
         "--summary-json", str(summary), *RUN_FLAGS, *flags]
    )  # fmt: skip
