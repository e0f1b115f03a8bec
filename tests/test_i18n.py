"""labkit.i18n: one data file of texts in Spanish and English; figures and tables follow the language."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labkit import i18n, plots


@pytest.fixture(autouse=True)
def english_unless_told(monkeypatch):
    """Each test starts from the default (no set_language, no $LABKIT_LANG) and leaves it so."""
    monkeypatch.delenv("LABKIT_LANG", raising=False)
    monkeypatch.setattr(i18n, "_chosen", None)


def test_every_text_has_both_languages_and_its_fields():
    texts = i18n.strings()
    assert len(texts) > 30 and "labels.eer_%" in texts and "det_x" in texts
    for key, both in texts.items():
        assert set(both) == {"es", "en"} and all(both.values()), key
        assert both["es"].count("{") == both["en"].count("{"), f"{key}: the same fields in both languages"


def test_language_from_set_language_then_environment_then_english(monkeypatch):
    assert i18n.language() == "en" and i18n.t("det_x") == "False acceptance rate (%)"
    monkeypatch.setenv("LABKIT_LANG", "es")
    assert i18n.t("det_x") == "Tasa de falsa aceptación (%)"
    i18n.set_language("en")
    assert i18n.t("det_x") == "False acceptance rate (%)"  # the notebook's choice wins over the environment
    with i18n.in_language("es"):
        assert i18n.label("val_eer") == "EER de validación"
    assert i18n.language() == "en"
    with pytest.raises(ValueError, match=r"one of \('es', 'en'\), got 'fr'"):
        i18n.set_language("fr")
    monkeypatch.setenv("LABKIT_LANG", "de")
    monkeypatch.setattr(i18n, "_chosen", None)
    with pytest.raises(ValueError, match="'de'"):
        i18n.language()


def test_texts_fill_their_fields_and_unknown_keys_are_named():
    i18n.set_language("es")
    assert i18n.t("threshold_value", value=0.51234) == "umbral 0.512"
    with pytest.raises(KeyError, match="no text 'nope'"):
        i18n.t("nope")
    assert i18n.label("some_new_column") == "some_new_column"  # unknown names stay readable as they are


def test_result_table_gets_readable_headers_in_each_language():
    table = pd.DataFrame([{"model": "pretrained", "params_M": 1.2, "GMACs_2s": 0.5, "train_min": 12.0, "eer_%": 4.8,
                           "min_dcf_0.01": 0.5, "min_dcf_0.05": 0.35}])
    with i18n.in_language("es"):
        assert list(i18n.readable(table).columns) == ["modelo", "parámetros (M)", "GMACs (2 s de audio)", "entrenamiento (min)",
                                                      "EER (%)", "minDCF (0,01)", "minDCF (0,05)"]
    assert list(i18n.readable(table).columns)[:3] == ["model", "parameters (M)", "GMACs (2 s of audio)"]
    assert list(table.columns)[0] == "model"  # the table itself is left as it is (CSV files keep the short names)


def test_a_missing_value_is_shown_as_a_dash_not_nan():
    table = pd.DataFrame({"model": ["pretrained", "resemblyzer"], "train_min": [44.9, float("nan")], "eer_%": [1.3, 11.7]})
    shown = i18n.readable(table)
    assert shown["training (min)"].tolist() == [44.9, i18n.MISSING] and shown["EER (%)"].tolist() == [1.3, 11.7]
    assert "NaN" not in shown.to_html() and table["train_min"].isna().sum() == 1  # the table itself keeps its NaN


def test_figures_follow_the_language():
    rng = np.random.default_rng(0)
    scores, labels = np.r_[rng.normal(1, 1, 200), rng.normal(-1, 1, 2000)], np.r_[np.ones(200), np.zeros(2000)]
    i18n.set_language("es")
    det = plots.det_plot({"A": (scores, labels)}).axes[0]
    assert (det.get_xlabel(), det.get_ylabel(), det.get_title()) == ("Tasa de falsa aceptación (%)", "Tasa de falso rechazo (%)", "Curva DET")
    assert det.get_legend().get_texts()[0].get_text().startswith("A (EER ") and det.get_legend().get_texts()[0].get_text().endswith(" %)")
    histogram = plots.score_histogram(scores, labels, threshold=0.0).axes[0]
    assert histogram.get_xlabel() == "puntuación" and "umbral 0.000" in [t.get_text() for t in histogram.get_legend().get_texts()]
    curves = plots.training_curves({"epoch": [1, 2], "loss": [2.0, 1.0], "val_eer": [0.3, 0.2]})
    assert [ax.get_title() for ax in curves.axes] == ["pérdida", "EER de validación"] and curves.axes[0].get_xlabel() == "época"
    assert curves._suptitle.get_text() == "Entrenamiento"
