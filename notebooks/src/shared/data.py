# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# <!-- es -->
# ## 1. Datos
#
# El modo rápido genera el corpus sintético (una vez; las ejecuciones siguientes lo reutilizan).
# Con datos reales, la celda muestra las llamadas de la librería que obtienen VoxCeleb: cada fichero
# se comprueba con su suma de verificación, las descargas continúan tras una desconexión y solo se
# lee del archivo un subconjunto de ~100 horas de VoxCeleb2 (unos 77 GB completo).
# <!-- en -->
# ## 1. Data
#
# Quick mode generates the synthetic corpus (once; later runs reuse it). With real data, the
# cell shows the library calls that fetch VoxCeleb: every file is verified against its checksum,
# downloads resume after a disconnect, and only a ~100-hour subset of VoxCeleb2 (about 77 GB in
# full) is read from the archive.

# %%
from labkit.trials import read_trials

if QUICK:
    from labkit.data.synthetic import make_corpus

    TEST_ROOT = TRAIN_ROOT = make_corpus(DATA / f"synthetic-{PRESET}", preset=PRESET)
    TRIALS = TEST_ROOT / "meta" / "veri_test.txt"
else:
    from labkit.data.download import download
    from labkit.data.subset import prepare_subset

    download(["voxceleb1_test", "voxceleb1_o_cleaned"], DATA)  # [es] audio de VoxCeleb1 test (~1 GB) + trials Vox1-O depurados [en] VoxCeleb1 test audio (~1 GB) + Vox1-O cleaned trials
    prepare_subset(DATA / "voxceleb2_subset", list_name="tiny_few")  # [es] ~100 h de VoxCeleb2 dev (Vaessen y van Leeuwen, 2022) [en] ~100 h of VoxCeleb2 dev (Vaessen & van Leeuwen, 2022)
    TEST_ROOT, TRAIN_ROOT = DATA / "voxceleb1", DATA / "voxceleb2_subset"
    TRIALS = TEST_ROOT / "meta" / "veri_test2.txt"
trials = read_trials(TRIALS)
print(f"audio de test: {TEST_ROOT} | audio de entrenamiento: {TRAIN_ROOT} | trials: {len(trials)} ({int(trials.labels.sum())} target)")  # [es]
print(f"test audio: {TEST_ROOT} | training audio: {TRAIN_ROOT} | trials: {len(trials)} ({int(trials.labels.sum())} target)")  # [en]
