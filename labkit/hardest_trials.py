"""The hardest trials: the impostors that sounded most like the claimed speaker, and the true speakers that did not.

Listening to a system's worst mistakes tells what it has not learnt: two different voices with
close pitch and timbre, or the same voice through a different microphone, room or noise.
The hardest non-targets are those with the highest scores (false acceptances once above the
threshold); the hardest targets those with the lowest (false rejections once below it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labkit.data.voxceleb import audio_dir
from labkit.i18n import t
from labkit.trials import Trials


def hardest_trials(trials: Trials, scores: np.ndarray, threshold: float, n: int = 3) -> pd.DataFrame:
    """The ``n`` highest-scoring non-targets and ``n`` lowest-scoring targets, with whether each is an error at ``threshold``."""
    table = pd.DataFrame({"label": trials.labels, "enroll": trials.enroll, "test": trials.test, "score": np.asarray(scores, dtype=np.float64)})
    hardest = pd.concat([table[table["label"] == 0].nlargest(n, "score"), table[table["label"] == 1].nsmallest(n, "score")], ignore_index=True)
    hardest["error"] = np.where(hardest["label"] == 1, hardest["score"] < threshold, hardest["score"] >= threshold)
    kinds = {(0, True): "false_acceptance", (0, False): "near_false_acceptance", (1, True): "false_rejection", (1, False): "near_false_rejection"}
    hardest["kind"] = [t(f"concepts.{kinds[label, error]}") for label, error in zip(hardest["label"], hardest["error"])]
    return hardest[["kind", "score", "error", "enroll", "test", "label"]]


def play_trials(hardest: pd.DataFrame, root: str | Path) -> None:
    """Show each trial of ``hardest`` with two audio players (enrolment, test), in a notebook."""
    from IPython.display import Audio, display

    folder = audio_dir(root)
    for row in hardest.itertuples():
        print(t("concepts.trial_line", kind=row.kind, score=row.score, enroll=row.enroll, test=row.test))
        display(Audio(filename=str(folder / row.enroll)), Audio(filename=str(folder / row.test)))
