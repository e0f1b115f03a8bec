"""The notebooks' answer cells: ``answer``, ``attach``, ``set_info`` and ``progress`` on one answers file.

In a notebook cell::

    from labkit.report.questions import answer, attach, progress, set_info
    set_info(students=[("Ana García", "100456789")], language="es", data_mode="quick")
    answer("s1_q1", \"\"\"La verificación de locutor decide si ...\"\"\")   # saved at once
    attach("fig_det_pretrained", fig)                                # a figure or a DataFrame
    progress()                                                       # what is still missing

The questions are those of the bank (``labkit.report.bank``, data file ``questions.yaml``). The
answers live in one file (``labkit.report.store``): on Google Drive when it is mounted, so a
Colab disconnect loses nothing; answers saved before Drive was mounted are merged into it at
the next save.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from labkit.errors import LabkitError
from labkit.files import COLAB_DRIVE
from labkit.i18n import t  # what it prints follows the notebook's language
from labkit.report.bank import bank, check_language, is_answered, parse_value, word_count
from labkit.report.content import data_lines, report_items
from labkit.report.store import AnswerStore

COLAB_DIR = COLAB_DRIVE.parent  # the Colab VM's local disk (/content): wiped when the runtime is recycled
DRIVE_DIR = COLAB_DRIVE / "MyDrive"  # the student's own Drive folder


_store: AnswerStore | None = None
_store_is_default = False  # chosen by default_store_path(): follows it when it changes (Drive mounted later)


def default_store_path() -> Path:
    """``$LABKIT_ANSWERS``, else ``MyDrive/labkit/answers.json`` when Drive is mounted, else ``./answers/answers.json``."""
    if os.environ.get("LABKIT_ANSWERS"):
        return Path(os.environ["LABKIT_ANSWERS"])
    if DRIVE_DIR.is_dir():
        return DRIVE_DIR / "labkit" / "answers.json"
    return Path.cwd() / "answers" / "answers.json"


def use_store(path: str | Path | None = None) -> AnswerStore:
    """Choose the answers file for ``answer()``/``progress()`` (default: ``default_store_path()``).

    Warns when the file is on the Colab VM's disk rather than on Drive: it would not survive the runtime.
    """
    global _store, _store_is_default
    _store, _store_is_default = AnswerStore(path or default_store_path()), path is None
    print(t("answers.file", path=_store.path))
    if _store.path.is_relative_to(COLAB_DIR) and not _store.path.is_relative_to(DRIVE_DIR.parent):
        warnings.warn(f"Google Drive is not mounted: {_store.path} is on this Colab VM's disk and is lost when the "
                      "runtime is recycled. Mount Drive (from google.colab import drive; drive.mount('/content/drive')):"
                      " the answers saved so far move there at the next save.", stacklevel=3)
    return _store


def store() -> AnswerStore:
    """The answers file in use, chosen on first use.

    While it is the default one, it follows ``default_store_path()``: when that changes (Drive was
    mounted after the first answers), the answers saved so far are merged into the new file, with a warning.
    """
    if _store is None:
        return use_store()
    if _store_is_default and AnswerStore(default_store_path()).path != _store.path:
        previous = _store.path
        try:
            merged = use_store().merge(AnswerStore(previous))
            warnings.warn(f"the answers file is now {_store.path}: merged {', '.join(merged) or 'nothing'} from "
                          f"{previous} (kept as it was)", stacklevel=3)
        except (OSError, LabkitError) as error:
            warnings.warn(f"the answers file is now {_store.path}; {previous} could not be merged ({error}): "
                          "its answers stay there", stacklevel=3)
    return _store


def answer(qid: str, value: Any, clear: bool = False) -> None:
    """Save the answer to question ``qid`` now (re-running the cell overwrites it).

    An empty answer never replaces a saved one ("Run all" on a fresh copy of the notebook must not
    erase earlier work); pass ``clear=True`` to really empty it.
    """
    value = parse_value(bank().question(qid), value)  # checked (and repaired) before anything is read or written
    saved = store().read()["answers"].get(qid, {}).get("value")
    if not clear and not is_answered(value) and is_answered(saved):
        print(t("answers.kept", qid=qid))
        return
    stored = store().save_answer(qid, value)
    if not is_answered(stored):
        print(t("answers.empty", qid=qid))
    elif bank().question(qid).kind == "text":
        print(t("answers.saved_words", qid=qid, words=word_count(stored)))
    else:
        print(t("answers.saved_value", qid=qid, value=stored))


def set_info(students: Sequence[tuple[str, str]] | None = None, language: str | None = None,
             data_mode: str | None = None) -> None:
    """Save the students ``[(name, NIA), ...]``, the report language ("es" or "en") and the data mode
    ("quick": results from the synthetic corpus, "voxceleb": from real VoxCeleb); None keeps what is saved.

    The data mode names the data in the report's question texts, captions and title page.
    """
    store().set_info(students, language, data_mode)


def attach(evidence_id: str, item: Any) -> None:
    """Save a figure or a table that the report needs (see ``progress()`` for the ids)."""
    store().attach(evidence_id, item)
    print(t("answers.saved_evidence", id=evidence_id))


def progress(answers: AnswerStore | None = None, language: str | None = None) -> pd.DataFrame:
    """Print what is answered and what is missing (answers, figures, tables); return it as a table."""
    content = (answers or store()).read()
    language = check_language(language or content["info"].get("language", "es"))
    items = report_items(content, language)
    missing_evidence = {item.question.id: [e for e in item.evidence if e not in content["evidence"]] for item in items}
    table = pd.DataFrame([{
        "id": item.question.id,
        "session": item.question.session,
        "question": item.text,
        "answered": item.answer is not None,
        "words": word_count(content["answers"].get(item.question.id, {}).get("value")),
        "missing_evidence": ", ".join(missing_evidence[item.question.id]),
    } for item in items])
    missing = [item.question.id for item in items if item.answer is None]
    evidence = sorted({e for ids in missing_evidence.values() for e in ids})
    print(t("answers.answered", done=len(items) - len(missing), total=len(items)))
    print(t("answers.missing_answers", ids=", ".join(missing) or t("answers.none")))
    print(t("answers.missing_evidence", ids=", ".join(evidence) or t("answers.none")))
    (label, data), _ = data_lines(content, language)
    print(f"{label}: {data}")  # what the report will say the results come from
    return table
