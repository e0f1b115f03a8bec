"""The language of what labkit shows: figure labels, table headers and messages, in Spanish or English.

The course is taught in Spanish, with English beside it. The notebooks choose the language in
their setup cell (``LANGUAGE = "es"``), which calls ``set_language``; elsewhere ``$LABKIT_LANG``
decides, and English is the default (the command line speaks English). Every text is in the
data file ``i18n.yaml`` beside this module::

    from labkit.i18n import label, readable, set_language, t
    set_language("es")
    t("det_x")                       # 'Tasa de falsa aceptación (%)'
    label("eer_%")                   # 'EER (%)'  (a column name made readable)
    readable(results_table(rows))    # the same table with readable column headers
"""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import yaml

LANGUAGES = ("es", "en")
STRINGS_FILE = Path(__file__).with_name("i18n.yaml")
_chosen: str | None = None  # set_language's choice; None: $LABKIT_LANG or English


def check_language(language: str) -> str:
    """``language`` if it is one of the course's languages, else a ValueError that lists them."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    return language


def set_language(language: str) -> str:
    """Use ``language`` ("es" or "en") for everything labkit shows from now on; returns it."""
    global _chosen
    _chosen = check_language(language)
    return _chosen


@contextlib.contextmanager
def in_language(language: str) -> Iterator[str]:
    """Use ``language`` inside a ``with`` block only (e.g. figures for a report in the other language)."""
    global _chosen
    previous, _chosen = _chosen, check_language(language)
    try:
        yield _chosen
    finally:
        _chosen = previous


def language() -> str:
    """The language in use: ``set_language``'s, else ``$LABKIT_LANG``, else "en"."""
    return _chosen or check_language(os.environ.get("LABKIT_LANG") or "en")


def _flatten(entries: dict[str, Any], prefix: str = "") -> dict[str, dict[str, str]]:
    """``{section: {key: {es, en}}}`` -> ``{"section.key": {es, en}}``; every text must carry both languages."""
    flat = {}
    for key, value in entries.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and set(value) == set(LANGUAGES) and all(isinstance(v, str) for v in value.values()):
            flat[name] = value
        elif isinstance(value, dict) and not set(value) & set(LANGUAGES):
            flat.update(_flatten(value, f"{name}."))
        else:
            raise ValueError(f"{STRINGS_FILE}: {name!r} must have exactly the texts {LANGUAGES}, got {value!r}")
    return flat


@lru_cache(maxsize=1)
def strings() -> dict[str, dict[str, str]]:
    """Every text of ``i18n.yaml`` by its dotted key (``det_x``, ``labels.eer_%``, ``setup.no_gpu``)."""
    return _flatten(yaml.safe_load(STRINGS_FILE.read_text(encoding="utf-8")))


def t(key: str, **values: Any) -> str:
    """The text ``key`` in the language in use, with its ``{fields}`` filled from ``values``."""
    if key not in strings():
        raise KeyError(f"no text {key!r} in {STRINGS_FILE}")
    return strings()[key][language()].format(**values)


def label(name: str) -> str:
    """A column or quantity name (``eer_%``, ``GMACs_2s``, ``val_eer``) as a reader sees it; unknown names stay as they are."""
    texts = strings().get(f"labels.{name}")
    return texts[language()] if texts else name


MISSING = "–"  # a value that does not exist (Resemblyzer's training minutes), in tables, recipes and the report


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with readable column headers in the language in use, for display and the report; a missing
    value (Resemblyzer's training minutes: not trained here) is ``MISSING``, as in the report, not ``NaN``
    (``labkit.report.content.table_frame`` reads it back as a missing number)."""
    gaps = table.columns[table.isna().any()]
    shown = table.astype({column: object for column in gaps})  # a number column with a gap takes text too
    shown[gaps] = shown[gaps].mask(table[gaps].isna(), MISSING)
    return shown.rename(columns=label)
