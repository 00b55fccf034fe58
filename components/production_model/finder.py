"""Which model is in production: the newest version of the serving directory, if the project
blessed it.

The Pusher writes each blessed model to ``<serving>/<version>/`` with the model card inside
(``model_card.json``: the verdict and the model's fingerprint). A model server serves the
newest version, so that is production. It is the baseline only if it carries the project's
own blessing: a card that says blessed, whose fingerprint matches the files beside it.
Anything else (an unreadable directory, a version without a card, a card that says not
blessed, files changed after the push) is a *problem*: the comparison with production cannot
be made, and the RobustnessEvaluator decides (skip it loudly, or refuse the candidate under
``--require-baseline-comparison``). An older blessed version is never used in its place: it
is not what serves.

Every file call goes through TFX's ``fileio``, so local paths, ``gs://`` and ``s3://`` work.
"""

import dataclasses
import json
import os
from typing import List, Optional

from tfx.dsl.io import fileio

from robustfx.robustness.models import saved_models
from robustfx.robustness.presentation import model_card


@dataclasses.dataclass(frozen=True)
class Production:
    """What serves in a serving directory, and whether it can be the baseline.

    Attributes:
      serving_dir: the directory looked in.
      version: the newest version's name; None when nothing serves yet.
      uri: that version's directory (a SavedModel).
      fingerprint: its model's fingerprint, as its card records it.
      model_uri: the Trainer artifact the card says was blessed and pushed.
      model_artifact_id: its ML Metadata id, as the card records it.
      problem: why the serving model cannot be the baseline; empty when it can.
    """

    serving_dir: str
    version: Optional[str] = None
    uri: str = ""
    fingerprint: str = ""
    model_uri: str = ""
    model_artifact_id: int = 0
    problem: str = ""

    @property
    def usable(self) -> bool:
        """A blessed model serves: the candidate is compared with it."""
        return self.version is not None and not self.problem

    def describe(self) -> str:
        if self.version is None and not self.problem:
            return f"no production model: {self.serving_dir} holds no version yet"
        if self.problem:
            return f"production model unusable as the baseline: {self.problem}"
        return f"production model: serving version {self.version} ({self.uri})"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def serving_versions(serving_dir: str) -> List[str]:
    """The numbered version directories, newest (largest) first; [] when there is none.

    Raises:
      OSError (or the filesystem's own error): the directory cannot be listed.
    """
    if not fileio.exists(serving_dir):
        return []
    names = (name.rstrip("/") for name in fileio.listdir(serving_dir))
    return sorted((name for name in names if name.isdigit()), key=int, reverse=True)


def read_card(version_dir: str) -> Optional[dict]:
    """The model card inside a pushed version; None when it has none."""
    path = os.path.join(version_dir, model_card.CARD_JSON)
    if not fileio.exists(path):
        return None
    with fileio.open(path, "r") as f:
        return json.loads(f.read())


def _blessing_problem(version: str, card: Optional[dict], actual_fingerprint) -> str:
    """Why a pushed version does not carry the project's blessing ('' when it does)."""
    if card is None:
        return (
            f"serving version {version} has no {model_card.CARD_JSON}: it was not pushed by "
            "this project's Pusher"
        )
    if card.get("robustness_evaluation", {}).get("blessed") is not True:
        return f"serving version {version}'s model card does not say it was blessed"
    recorded = card.get("provenance", {}).get("fingerprint")
    if not recorded:
        return f"serving version {version}'s model card records no fingerprint"
    if recorded != actual_fingerprint():
        return (
            f"serving version {version} is not the model its card blessed (the fingerprint "
            "of its files differs): it was changed after the push"
        )
    return ""


def find_production(serving_dir: str) -> Production:
    """The model that serves in ``serving_dir`` and whether it can be the baseline. Never
    raises for what it finds there: every problem is named in ``Production.problem``."""
    try:
        versions = serving_versions(serving_dir)
    except Exception as error:  # noqa: BLE001 (any filesystem's error: named, not raised)
        return Production(
            serving_dir, problem=f"serving directory {serving_dir} is unreadable: {error}"
        )
    if not versions:
        return Production(serving_dir)
    version = versions[0]
    uri = os.path.join(serving_dir, version)
    try:
        card = read_card(uri)
        problem = _blessing_problem(version, card, lambda: saved_models.model_fingerprint(uri))
    except Exception as error:  # noqa: BLE001
        card, problem = None, f"serving version {version} is unreadable: {error}"
    provenance = (card or {}).get("provenance", {})
    return Production(
        serving_dir,
        version=version,
        uri=uri,
        fingerprint=provenance.get("fingerprint", "") if not problem else "",
        model_uri=provenance.get("model_uri", "") or "",
        model_artifact_id=int(provenance.get("model_artifact_id") or 0),
        problem=problem,
    )
