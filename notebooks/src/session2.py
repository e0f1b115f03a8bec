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
# # Práctica 2: Reconocimiento de Locutor en VoxCeleb
# ## Sesión 2: modelo preentrenado, puntuación, EER/DET, entrenamiento desde cero, modelo pequeño frente a grande
#
# Hoy evalúas un sistema de verificación de locutor de principio a fin: un modelo preentrenado
# convierte cada locución de test en un embedding, cada trial recibe una puntuación coseno, y los
# errores en cada umbral dan la **EER**, el **minDCF** y la **curva DET**. Después entrenas tú
# modelos desde cero y comparas una ResNet pequeña y una grande con el mismo presupuesto de tiempo.
#
# Cada figura y tabla que necesita el informe se guarda con `attach(...)`; al final se genera el
# informe con tus respuestas.
# <!-- en -->
# # Práctica 2: Speaker Recognition on VoxCeleb
# ## Session 2: pretrained model, scoring, EER/DET, training from scratch, smaller vs larger
#
# Today you evaluate a speaker-verification system end to end: a pretrained model turns every
# test utterance into an embedding, each trial gets a cosine score, and the errors at every
# threshold give the **EER**, the **minDCF** and the **DET curve**. Then you train models yourself,
# from scratch, and compare a smaller and a larger ResNet under the same time budget.
#
# Every figure and table that the report needs is saved with `attach(...)`; at the end the report
# is built from your answers.

# %%
# @include shared/setup.py

# %%
# %matplotlib inline
from labkit.demo import CONFIGS
from labkit.i18n import readable
from labkit.report.questions import answer, attach, progress, set_info, store

set_info(language=LANGUAGE, data_mode="quick" if QUICK else "voxceleb")  # [es] el idioma y los datos del informe [en] the report's language and data
MINUTES = float(os.environ.get("LABKIT_NOTEBOOK_MINUTES") or (4 if QUICK else 20))  # [es] presupuesto de entrenamiento por modelo [en] training budget per model
CACHE = OUT / "cache"  # [es] los embeddings ya calculados se reutilizan (según la suma de verificación del modelo) [en] embeddings already computed are reused (keyed by the model's checksum)
print(f"presupuesto de entrenamiento: {MINUTES:g} min por modelo")  # [es]
print(f"training budget: {MINUTES:g} min per model")  # [en]

# %%
# @include shared/data.py

# %% [markdown]
# <!-- es -->
# ## 2. Un modelo preentrenado
#
# El modo rápido usa el modelo que trae labkit: otra arquitectura que la que entrenarás tú desde
# cero, una ResNet18 de anchura 16 (el doble de bloques residuales que tu ResNet10 y la mitad de
# anchura que la ResNet18 de la sección 4), entrenada 24 épocas con 1.000
# locutores sintéticos de otra semilla (ninguno es un locutor de test); su receta completa está en
# `configs/pretrained-synthetic.yaml` y, más abajo, junto a la tuya. Con datos reales descargamos la ResNet34 de WeSpeaker, entrenada con todo VoxCeleb2 dev (EER publicada de
# 0,867 % en Vox1-O depurada); `labkit.models.load` lee su checkpoint en el mismo tipo de modelo que
# los nuestros.
# <!-- en -->
# ## 2. A pretrained model
#
# Quick mode uses the model that ships with labkit: another architecture than the one you will
# train from scratch, a ResNet18 of width 16 (twice the residual blocks of your ResNet10 and half
# the width of section 4's ResNet18), trained for 24 epochs on 1,000
# synthetic speakers of another seed (none of them a test speaker); its whole recipe is in
# `configs/pretrained-synthetic.yaml` and, further down, next to yours. With real data we download WeSpeaker's ResNet34, trained on all of VoxCeleb2 dev (published EER
# 0.867% on Vox1-O cleaned); `labkit.models.load` reads its checkpoint into the same kind of
# model as ours.

# %%
from labkit import models, pretrained
from labkit.models.summary import count_parameters

if QUICK:
    pretrained_model = pretrained.load()
    pretrained_minutes = pretrained.metrics().get("train_min")
else:
    from labkit.data.download import download

    pretrained_model = models.load(download(["wespeaker_resnet34"], DATA)[0])  # [es] también se guarda en Drive [en] kept on Drive too
    pretrained_minutes = None  # [es] entrenado por WeSpeaker, en muchas GPU [en] trained by WeSpeaker, on many GPUs
cfg = pretrained_model.config
print(f"{cfg.arch}{cfg.depth}, anchura {cfg.width}: {count_parameters(pretrained_model) / 1e6:.2f} M parámetros, "  # [es]
      f"{cfg.frontend.n_mels} bandas mel, embeddings de dimensión {pretrained_model.embed_dim}")  # [es]
print(f"{cfg.arch}{cfg.depth} width {cfg.width}: {count_parameters(pretrained_model) / 1e6:.2f} M parameters, "  # [en]
      f"{cfg.frontend.n_mels} mel bands, {pretrained_model.embed_dim}-dimensional embeddings")  # [en]

# %% [markdown]
# <!-- es -->
# ### Otro sistema, otra receta
#
# Un resultado solo significa algo junto a su receta: la red (profundidad, anchura, embedding,
# características), la pérdida, el optimizador, los recortes y lotes, y cuánto entrenó y con qué.
# El modelo preentrenado trae su `config.yaml` y su `history.csv`; abajo, junto a la receta del
# modelo que entrenarás desde cero en la sección 3. Compara las líneas: lo que difiere explica buena
# parte de la diferencia de EER que verás (pregunta s2_q5).
# <!-- en -->
# ### Another system, another recipe
#
# A result only means something with its recipe: the network (depth, width, embedding, features),
# the loss, the optimiser, the crops and batches, and how long it trained and on what. The
# pretrained model ships its `config.yaml` and `history.csv`; below, next to the recipe of the model
# you will train from scratch in section 3. Compare the lines: what differs explains much of the
# EER difference you will see (question s2_q5).

# %%
import pandas as pd

from labkit.config import ExperimentConfig, load_config
from labkit.recipes import architecture, compare_recipes, recipe, run_recipe

pd.set_option("display.max_colwidth", 120)
scratch_recipe = recipe(load_config(CONFIGS / ("demo.yaml" if QUICK else "default.yaml")))
if QUICK:
    pretrained_recipe = run_recipe(pretrained.FOLDER)  # [es] labkit/pretrained/config.yaml + history.csv [en] labkit/pretrained/config.yaml + history.csv
else:
    pretrained_recipe = {"network": architecture(ExperimentConfig(model=pretrained_model.config)), "data": "VoxCeleb2 dev (WeSpeaker)"}
compare_recipes({"preentrenado": pretrained_recipe, "desde cero (sección 3)": scratch_recipe})  # [es]
compare_recipes({"pretrained": pretrained_recipe, "from scratch (section 3)": scratch_recipe})  # [en]

# %% [markdown]
# <!-- es -->
# ### Embeddings y puntuaciones
#
# `extract` ejecuta el modelo sobre cada locución que usan los trials (en la GPU si la hay) y
# devuelve un embedding por locución. Después `cosine_scores` puntúa cada trial: el coseno del
# ángulo entre sus dos embeddings, de −1 a 1. Cuanto más alto, más probable que sea el mismo locutor.
# <!-- en -->
# ### Embeddings and scores
#
# `extract` runs the model on every utterance that the trials use (on the GPU when there is one)
# and returns one embedding per utterance. `cosine_scores` then scores each trial: the cosine of
# the angle between its two embeddings, from −1 to 1. Higher means "more likely the same speaker".

# %%
from labkit.embed import extract, pick_device
from labkit.evaluate import trial_manifest
from labkit.scoring import cosine_scores

device = pick_device("auto")
ids, embeddings = extract(pretrained_model.to(device), trial_manifest(TEST_ROOT, trials), cache_dir=CACHE)
scores = cosine_scores(trials, ids, embeddings)
print(f"{len(ids)} embeddings de dimensión {embeddings.shape[1]}, {len(scores)} puntuaciones de trials")  # [es]
print(f"puntuación media: targets {scores[trials.labels == 1].mean():.3f}, non-targets {scores[trials.labels == 0].mean():.3f}")  # [es]
print(f"{len(ids)} embeddings of dimension {embeddings.shape[1]}, {len(scores)} trial scores")  # [en]
print(f"mean score: targets {scores[trials.labels == 1].mean():.3f}, non-targets {scores[trials.labels == 0].mean():.3f}")  # [en]

# %% [markdown]
# <!-- es -->
# ### EER, minDCF y la curva DET
#
# * **EER**: la tasa de error en el umbral donde las falsas aceptaciones y los falsos rechazos son
#   igual de frecuentes.
# * **minDCF**: el menor coste de detección en todos los umbrales cuando un trial target tiene
#   probabilidad a priori `p_target` (aquí 0,01 y 0,05): si los targets son raros, las falsas
#   aceptaciones pesan más.
# * **Curva DET**: falso rechazo frente a falsa aceptación en cada umbral, en ejes probit. Cuanto
#   más cerca de la esquina inferior izquierda, mejor.
# <!-- en -->
# ### EER, minDCF and the DET curve
#
# * **EER**: the error rate at the threshold where false acceptances and false rejections are equally frequent.
# * **minDCF**: the lowest detection cost over all thresholds when a target trial has prior
#   probability `p_target` (0.01 and 0.05 here): rare targets make false acceptances weigh more.
# * **DET curve**: false rejection against false acceptance at every threshold, on probit axes.
#   Closer to the bottom-left corner is better.

# %%
from labkit.metrics import summarize
from labkit.plots import det_plot, save_figure, score_histogram

summary = summarize(scores, trials.labels, p_targets=(0.01, 0.05))
print(f"EER {100 * summary['eer']:.2f} % en el umbral {summary['eer_threshold']:.3f}")  # [es]
print(f"EER {100 * summary['eer']:.2f} % at threshold {summary['eer_threshold']:.3f}")  # [en]
print(f"minDCF(0.01) {summary['min_dcf_0.01']:.3f}   minDCF(0.05) {summary['min_dcf_0.05']:.3f}")

det_figure = det_plot({"pretrained": (scores, trials.labels)}, title="DET: modelo preentrenado")  # [es]
det_figure = det_plot({"pretrained": (scores, trials.labels)}, title="DET: pretrained model")  # [en]
score_figure = score_histogram(scores, trials.labels, threshold=summary["eer_threshold"])
save_figure(det_figure, OUT / "figures" / "det_pretrained")
save_figure(score_figure, OUT / "figures" / "scores")
attach("fig_det_pretrained", det_figure)
attach("fig_scores", score_figure)
display(det_figure, score_figure)

# %% [markdown]
# <!-- es -->
# El histograma muestra por qué ningún umbral es perfecto: las puntuaciones target y non-target se
# solapan. Mover el umbral (la línea vertical, aquí en la EER) hacia la derecha reduce las falsas
# aceptaciones y aumenta los falsos rechazos.
#
# `evaluate` hace todos los pasos anteriores en una llamada y devuelve una fila para la tabla de
# resultados (esta vez los embeddings salen de la caché).
# <!-- en -->
# The histogram shows why no threshold is perfect: target and non-target scores overlap. Moving
# the threshold (the vertical line, here at the EER) to the right lowers false acceptances and
# raises false rejections.
#
# `evaluate` does all the steps above in one call and returns a row for the results table
# (the embeddings come from the cache this time).

# %%
from labkit.evaluate import evaluate, results_table

RESULTS = {}  # [es] una fila por sistema, por su nombre: volver a ejecutar una celda sustituye su fila, nunca la duplica [en] one row per system, by name: re-running a cell replaces its row, never adds a second one
RESULTS["pretrained"] = evaluate(pretrained_model, trials, TEST_ROOT, name="pretrained", out_dir=OUT / "pretrained",
                                 train_seconds=None if pretrained_minutes is None else 60 * pretrained_minutes, cache_dir=CACHE)
readable(results_table(list(RESULTS.values())))

# %% [markdown]
# <!-- es -->
# ### Un modelo real: Resemblyzer
#
# Resemblyzer (GE2E: Wan et al., 2018) aprendió a reconocer locutores con miles de voces reales
# (LibriSpeech y VoxCeleb 1 y 2) y nunca ha oído una voz sintética. Sus pesos vienen dentro de su
# paquete de PyPI; labkit los carga en una copia en torch de su red (40 bandas log-mel, tres capas
# LSTM de 256, una capa lineal, trozos de 1,6 s promediados). Es otro sistema en todo: otra
# arquitectura (recurrente, no convolucional), otra función de pérdida y otros datos. En modo
# rápido su EER dice además cuánto se parecen nuestras voces sintéticas a las reales
# (`labkit realism` la compara con un sistema que no ha aprendido nada).
# <!-- en -->
# ### A real model: Resemblyzer
#
# Resemblyzer (GE2E: Wan et al., 2018) learned to recognise speakers from thousands of real voices
# (LibriSpeech and VoxCeleb 1 and 2) and has never heard a synthetic one. Its weights ship inside
# its PyPI package; labkit loads them into a plain-torch copy of its network (40 log-mel bands,
# three LSTM layers of 256, a linear layer, 1.6-s pieces averaged). It is another system in every
# way: another architecture (recurrent, not convolutional), another loss and other data. In quick
# mode its EER also tells how much our synthetic voices resemble real ones (`labkit realism`
# compares it with a system that has learned nothing).

# %%
resemblyzer = models.load("resemblyzer")  # [es] la primera vez descarga su paquete de PyPI (17 MB) y comprueba su SHA-256 [en] the first time, downloads its PyPI package (17 MB) and checks its SHA-256
RESULTS["resemblyzer"] = evaluate(resemblyzer, trials, TEST_ROOT, name="resemblyzer", out_dir=OUT / "resemblyzer" / "eval", cache_dir=CACHE)
readable(results_table(list(RESULTS.values())))

# %% [markdown]
# <!-- es -->
# ### Elegir el umbral
#
# Cada umbral da una tasa de falsas aceptaciones (FA: un impostor entra) y otra de falsos rechazos
# (FR: el locutor verdadero se queda fuera). Cuál conviene depende de la aplicación, a través de
# la función de coste de detección:
#
# DCF(t) = C_miss · P_target · FR(t) + C_fa · (1 − P_target) · FA(t),
#
# normalizada por el coste del mejor sistema que no escucha (aceptar a todos o rechazar a todos).
# La minDCF es su mínimo sobre todos los umbrales, y su umbral es donde esa aplicación debería
# trabajar. Una línea telefónica de un banco (pocos impostores, pero cada uno vacía una cuenta)
# pide un umbral alto; un altavoz inteligente (casi siempre habla su dueño) uno bajo. Mueve el
# deslizador y cambia de aplicación: la FA, la FR, el coste y los recuentos cambian al momento
# (la figura estática es la que guarda el informe).
# <!-- en -->
# ### Choosing the threshold
#
# Each threshold gives a false-acceptance rate (FA: an impostor gets in) and a false-rejection
# rate (FR: the true speaker is turned away). Which one suits depends on the application, through
# the detection cost function:
#
# DCF(t) = C_miss · P_target · FR(t) + C_fa · (1 − P_target) · FA(t),
#
# normalised by the cost of the best system that does not listen (accept everyone or reject
# everyone). minDCF is its minimum over all thresholds, and its threshold is where that application
# should operate. A bank's phone line (few impostors, but each one empties an account) wants a
# high threshold; a smart speaker (its owner almost always speaks) a low one. Move the slider and
# change the application: FA, FR, the cost and the counts follow at once (the static figure is
# what the report keeps).

# %%
from labkit.thresholds import describe, threshold_explorer, threshold_figure

threshold_fig = threshold_figure(scores, trials.labels)
save_figure(threshold_fig, OUT / "figures" / "thresholds")
print(describe(scores, trials.labels))
display(threshold_fig)
threshold_explorer(scores, trials.labels)

# %% [markdown]
# <!-- es -->
# ## 3. Entrenamiento desde cero
#
# Ahora entrena tú una ResNet pequeña (una ResNet10 de anchura 16, con AAM-softmax): aprende a
# clasificar a los locutores de entrenamiento a partir de recortes aleatorios, y la capa que sigue
# al pooling se convierte en el embedding. El entrenamiento para tras `MINUTES` minutos y guarda un
# checkpoint con regularidad: si Colab se desconecta, vuelve a ejecutar el cuaderno y el
# entrenamiento sigue donde se quedó (con Drive montado, la carpeta del entrenamiento está en tu Drive).
# <!-- en -->
# ## 3. Training from scratch
#
# Now train a small ResNet yourself (a ResNet10 of width 16, with AAM-softmax): it learns to
# classify the training speakers from random crops, and the layer after pooling becomes the embedding.
# Training stops after `MINUTES` minutes and saves a checkpoint regularly: if Colab disconnects,
# run the notebook again and training continues where it stopped (with Drive mounted, the run
# folder is on your Drive).

# %%
from labkit.config import apply_overrides, load_config
from labkit.train import LivePlot, train

CONFIG = CONFIGS / ("demo.yaml" if QUICK else "default.yaml")  # [es] léelo: cada ajuste de la receta está ahí [en] read it: every knob of the recipe is there
SYSTEMS = {  # [es] pequeño frente a grande: profundidad (número de bloques residuales) y anchura (canales de la primera etapa) [en] smaller vs larger: depth (number of residual blocks) and width (channels of the first stage)
    "resnet10-w16": ["model.depth=10", "model.width=16"],
    "resnet18-w32": ["model.depth=18", "model.width=32"],
}


def train_system(name: str):
    """Entrena uno de SYSTEMS durante MINUTES minutos (o lo reanuda) y devuelve su carpeta."""  # [es]
    """Train one of SYSTEMS for MINUTES minutes (or resume it) and return its run folder."""  # [en]
    overrides = [f"data.root={TRAIN_ROOT}", f"run.out_dir={OUT / name}", f"run.max_minutes={MINUTES}", *SYSTEMS[name]]
    if QUICK and PRESET == "tiny":  # [es] el corpus tiny (tests) solo tiene 32 locuciones de entrenamiento: 2 épocas [en] the tiny corpus (tests) has only 32 training utterances: 2 epochs
        overrides += ["data.batch_size=8", "run.epochs=2"]
    return train(apply_overrides(load_config(CONFIG), overrides), on_log=LivePlot())


run_small = train_system("resnet10-w16")

# %% [markdown]
# <!-- es -->
# ### Curvas de entrenamiento
#
# La pérdida debería bajar y la accuracy de entrenamiento (sobre los locutores de entrenamiento)
# subir. Ninguna de las dos dice directamente lo bien que el modelo verifica locutores *nuevos*:
# eso lo mide la EER sobre los trials de test.
# <!-- en -->
# ### Training curves
#
# The loss should fall and the training accuracy (on the training speakers) rise. Neither says
# directly how well the model verifies *new* speakers: that is what the EER on the test trials measures.

# %%
import pandas as pd

from labkit.plots import history_figure

history = pd.read_csv(run_small / "history.csv")
training_figure = history_figure(history, title="ResNet10-w16 desde cero")  # [es] pérdida, acierto y, si valida, EER de validación
training_figure = history_figure(history, title="ResNet10-w16 from scratch")  # [en] loss, accuracy and, if it validates, validation EER
save_figure(training_figure, OUT / "figures" / "training")
attach("fig_training", training_figure)
display(training_figure)
print(history.tail(3).to_string(index=False))

# %%
def evaluate_run(name: str, run_dir: Path) -> dict:
    """Evalúa un entrenamiento terminado sobre los trials de test y devuelve su fila de resultados."""  # [es]
    """Evaluate a finished training run on the test trials and return its result row."""  # [en]
    model = models.load(run_dir / "model.pt").to(device)
    train_seconds = models.load_extra(run_dir / "model.pt").get("train_seconds")
    return evaluate(model, trials, TEST_ROOT, name=name, out_dir=OUT / name / "eval", train_seconds=train_seconds, cache_dir=CACHE)


RESULTS["resnet10-w16"] = evaluate_run("resnet10-w16", run_small)
readable(results_table(list(RESULTS.values())))

# %% [markdown]
# <!-- es -->
# ## 4. Profundidad y anchura: una ResNet pequeña frente a una grande
#
# ¿Es mejor una red más grande cuando los datos de entrenamiento son limitados? Entrena una
# ResNet18 de anchura 32 con **el mismo presupuesto de tiempo** y compara. Primero, lo que cuesta
# cada una: parámetros y operaciones de multiplicación-acumulación (MACs) para 2 s de audio, etapa
# por etapa (como lo imprime `labkit summary`).
# <!-- en -->
# ## 4. Depth and width: a smaller vs a larger ResNet
#
# Is a bigger network better when the training data are limited? Train a ResNet18 of width 32
# with **the same time budget** and compare. First, what each costs: parameters and
# multiply-accumulate operations (MACs) for 2 s of audio, stage by stage (as `labkit summary` prints).

# %%
from labkit.models.summary import format_summary, summarize as model_summary

for name, overrides in SYSTEMS.items():
    model = models.build_model(apply_overrides(load_config(CONFIG), overrides).model)
    print(f"{name}: 2 s de audio, una locución")  # [es]
    print(f"{name}: 2 s of audio, one utterance")  # [en]
    print(format_summary(model_summary(model, seconds=2.0)), end="\n\n")

# %%
run_large = train_system("resnet18-w32")
RESULTS["resnet18-w32"] = evaluate_run("resnet18-w32", run_large)
results = results_table(list(RESULTS.values()))
results.to_csv(OUT / "results.csv", index=False)  # [es] con los nombres cortos de las columnas, para leerlo con pandas [en] with the short column names, to read back with pandas
attach("tab_results", readable(results))
readable(results)

# %%
from labkit.trials import read_scores

folders = {name: OUT / "pretrained" if name == "pretrained" else OUT / name / "eval" for name in RESULTS}  # [es] donde evaluate dejó scores.txt [en] where evaluate left scores.txt
systems = {name: (s.scores, s.labels) for name, s in ((name, read_scores(folder / "scores.txt")) for name, folder in folders.items())}
systems_figure = det_plot(systems, title="DET: todos los sistemas")  # [es]
systems_figure = det_plot(systems, title="DET: all systems")  # [en]
save_figure(systems_figure, OUT / "figures" / "det_systems")
attach("fig_det_systems", systems_figure)
display(systems_figure)

# %% [markdown]
# <!-- es -->
# Compara las filas: parámetros, MACs, minutos de entrenamiento, EER y minDCF. Con los mismos
# minutos, el modelo grande ve menos ejemplos de entrenamiento, pero cada paso puede aprender más.
# ¿Qué efecto gana aquí?
# <!-- en -->
# Compare the rows: parameters, MACs, training minutes, EER and minDCF. With the same number of
# minutes, the larger model sees fewer training examples, but each step can learn more.
# Which effect wins here?

# %% [markdown]
# <!-- es -->
# ## 5. El estudio de tamaño: las mismas épocas con los mismos datos
#
# La pregunta de las transparencias: *¿es mejor un modelo pequeño, ya que tenemos pocos datos, o
# mejoramos añadiendo capas y filtros?* Aquí cada sistema de `configs/size-study.yaml` (el único
# sitio que los nombra: añade o cambia sistemas allí) entrena **el mismo número de épocas** con
# **el mismo conjunto de entrenamiento pequeño**: los mismos datos, vistos las mismas veces; solo
# cambia la red. Tras cada época, cada sistema se mide con los mismos **trials de validación**, de
# locutores de entrenamiento apartados del entrenamiento: si la pérdida de entrenamiento sigue
# bajando mientras la EER de validación deja de bajar o sube, la red está **sobreajustando**
# (memoriza a sus locutores en lugar de aprender voces). Al final, cada sistema se evalúa con los
# trials de test.
# <!-- en -->
# ## 5. The size study: the same epochs on the same data
#
# The slides' question: *is a smaller model better, as we have little data, or do we do better by
# adding layers and filters?* Here each system of `configs/size-study.yaml` (the one place that
# names them: add or change systems there) trains for **the same number of epochs** on **the same
# small training set**: the same data, seen the same number of times; only the network changes.
# After every epoch each system is scored on the same **validation trials**, from training
# speakers held out of training: if the training loss keeps falling while the validation EER
# stops falling or rises, the network is **overfitting** (it memorises its speakers instead of
# learning voices). At the end, every system is evaluated on the test trials.

# %%
from labkit import size_study

STUDY = size_study.load_study(os.environ.get("LABKIT_NOTEBOOK_STUDY") or (PRESET if QUICK else "real"))  # [es] el modo de configs/size-study.yaml [en] the mode of configs/size-study.yaml
split = size_study.prepare(STUDY, TRAIN_ROOT, OUT / "size-study" / "split")
print(f"entrenamiento: {split.train_speakers} locutores, {split.train_utterances} locuciones | validación: "  # [es]
      f"{split.val_speakers} locutores apartados, {split.val_trials_count} trials | {STUDY.epochs} épocas por sistema")  # [es]
print(f"training: {split.train_speakers} speakers, {split.train_utterances} utterances | validation: "  # [en]
      f"{split.val_speakers} held-out speakers, {split.val_trials_count} trials | {STUDY.epochs} epochs per system")  # [en]
STUDY_RUNS = {}  # [es] una carpeta por sistema: volver a ejecutar reutiliza los entrenamientos terminados [en] one folder per system: re-running reuses finished runs
for name in STUDY.systems:
    STUDY_RUNS[name] = size_study.train_system(STUDY, name, TRAIN_ROOT, split, OUT / "size-study", on_log=LivePlot())

# %%
STUDY_ROWS = {name: size_study.study_row(name, run_dir, trials, TEST_ROOT, OUT / "size-study" / name / "eval", cache_dir=CACHE)
              for name, run_dir in STUDY_RUNS.items()}
study_results = size_study.study_table(list(STUDY_ROWS.values()))
study_results.to_csv(OUT / "size_study.csv", index=False)
study_curves = size_study.curves_figure(STUDY_RUNS, title="Mismas épocas, mismos datos")  # [es]
study_curves = size_study.curves_figure(STUDY_RUNS, title="Same epochs, same data")  # [en]
study_scores = {name: read_scores(OUT / "size-study" / name / "eval" / "scores.txt") for name in STUDY_RUNS}
study_det = det_plot({name: (s.scores, s.labels) for name, s in study_scores.items()}, title="DET: estudio de tamaño")  # [es]
study_det = det_plot({name: (s.scores, s.labels) for name, s in study_scores.items()}, title="DET: size study")  # [en]
save_figure(study_curves, OUT / "figures" / "size_study_curves")
save_figure(study_det, OUT / "figures" / "size_study_det")
display(readable(study_results), study_curves, study_det)

# %% [markdown]
# <!-- es -->
# Lee la tabla y las curvas antes de contestar s2_q6 y s2_q7: ¿qué sistema tiene la menor EER de
# validación y de test? ¿En qué época fue mejor cada uno, y siguió bajando su pérdida de
# entrenamiento después? ¿Compensa el coste (parámetros, FLOPs, minutos)? Escribe lo que muestran
# *estos* números, aunque no sea lo que esperabas: con otros datos o más épocas la respuesta puede
# cambiar, y decir por qué es parte de la respuesta.
# <!-- en -->
# Read the table and the curves before answering s2_q6 and s2_q7: which system has the lowest
# validation and test EER? At which epoch was each one best, and did its training loss keep
# falling afterwards? Is the cost (parameters, FLOPs, minutes) worth it? Write what *these*
# numbers show, even if it is not what you expected: with other data or more epochs the answer may
# change, and saying why is part of the answer.

# %% [markdown]
# <!-- es -->
# ### Embeddings que se pueden mirar
#
# Cada embedding tiene cientos de dimensiones; el análisis de componentes principales (PCA) las
# proyecta en las dos direcciones en que más varían. Un buen modelo agrupa las locuciones de cada
# locutor (un color) lejos de las demás, sea cual sea la sesión. A la izquierda el modelo
# preentrenado, a la derecha el tuyo desde cero (sección 3); la "separación" resume el mapa en un
# número (cercanía a los de su locutor menos cercanía a los demás).
# <!-- en -->
# ### Embeddings you can look at
#
# Each embedding has hundreds of dimensions; principal component analysis (PCA) projects them onto
# the two directions along which they vary most. A good model groups each speaker's utterances (one
# colour) away from the others, whatever the session. Left the pretrained model, right yours from
# scratch (section 3); "separation" sums the map up in one number (closeness to the speaker's own
# utterances minus closeness to the others).

# %%
from labkit.embedding_map import embedding_map

scratch_ids, scratch_embeddings = extract(models.load(run_small / "model.pt").to(device), trial_manifest(TEST_ROOT, trials), cache_dir=CACHE)
speaker_of = [utt.split("/")[0] for utt in ids]  # [es] en VoxCeleb, el nombre de la locución empieza por su locutor [en] in VoxCeleb, an utterance's name starts with its speaker
map_figure = embedding_map({"preentrenado": (embeddings, speaker_of), "desde cero": (scratch_embeddings, speaker_of)},  # [es]
                           title="Embeddings de los locutores de test (PCA)")  # [es]
map_figure = embedding_map({"pretrained": (embeddings, speaker_of), "from scratch": (scratch_embeddings, speaker_of)},  # [en]
                           title="Test speakers' embeddings (PCA)")  # [en]
save_figure(map_figure, OUT / "figures" / "embedding_map")
map_figure

# %% [markdown]
# <!-- es -->
# ### Los trials más difíciles
#
# Los errores del modelo preentrenado en el umbral de la EER: los impostores con la puntuación más
# alta (falsas aceptaciones) y los locutores verdaderos con la más baja (falsos rechazos).
# Escúchalos: ¿dos voces parecidas? ¿la misma voz con otro micrófono, otra sala u otro ruido?
# <!-- en -->
# ### The hardest trials
#
# The pretrained model's mistakes at the EER threshold: the impostors with the highest scores
# (false acceptances) and the true speakers with the lowest (false rejections). Listen to them:
# two similar voices? the same voice through another microphone, room or noise?

# %%
from labkit.hardest_trials import hardest_trials, play_trials

hardest = hardest_trials(trials, scores, summary["eer_threshold"], n=2)
play_trials(hardest, TEST_ROOT)

# %% [markdown]
# <!-- es -->
# ### Tu propia voz (opcional)
#
# En Colab, pon `MY_VOICE = True`, ejecuta la celda, permite el micrófono y di dos frases distintas
# (4 s cada una); con `UPLOAD = True` subes en su lugar dos ficheros de audio (cualquier formato).
# Cada modelo puntúa la pareja y la compara con el umbral de su EER en los trials de test. Prueba
# también con la voz de otra persona. Los modelos entrenados con voces sintéticas nunca han oído una
# voz real: ¿se equivocan más que Resemblyzer? Sin `MY_VOICE` (y fuera de Colab) la celda usa dos
# locuciones de un mismo locutor de test, de dos sesiones.
# <!-- en -->
# ### Your own voice (optional)
#
# On Colab, set `MY_VOICE = True`, run the cell, allow the microphone and say two different
# sentences (4 s each); with `UPLOAD = True` you upload two audio files instead (any format). Each
# model scores the pair and compares it with the threshold of its EER on the test trials. Try
# someone else's voice too. The models trained on synthetic voices have never heard a real voice:
# are they wrong more often than Resemblyzer? Without `MY_VOICE` (and outside Colab) the cell uses
# two utterances of one test speaker, from two sessions.

# %%
from IPython.display import Audio

from labkit.own_voice import corpus_pair, score_pair, two_clips

MY_VOICE = False  # [es] True: graba tu voz en Colab [en] True: record your voice on Colab
UPLOAD = False  # [es] True: sube dos ficheros en lugar de grabar [en] True: upload two files instead of recording
first, second = two_clips(OUT / "my_voice", root=TEST_ROOT, upload=UPLOAD) if MY_VOICE else corpus_pair(TEST_ROOT)
display(Audio(filename=str(first)), Audio(filename=str(second)))
for name, model in {"resemblyzer": resemblyzer, "pretrained": pretrained_model, "resnet10-w16": models.load(run_small / "model.pt")}.items():
    score, threshold = score_pair(model.to(device), first, second), RESULTS[name]["eer_threshold"]
    print(f"{name:13s} puntuación {score:.3f}, umbral de su EER {threshold:.3f}: {'mismo' if score >= threshold else 'distinto'} locutor")  # [es]
    print(f"{name:13s} score {score:.3f}, threshold at its EER {threshold:.3f}: {'same' if score >= threshold else 'different'} speaker")  # [en]

# %% [markdown]
# <!-- es -->
# ## 6. Preguntas
#
# Escribe cada respuesta entre las comillas triples (los números y las opciones, entre las comillas
# de `""`) y ejecuta la celda: se guarda al momento. `progress()` lista lo que falta.
#
# Una celda de respuesta **vacía nunca borra** una respuesta guardada: "Ejecutar todo" en una copia
# nueva de este cuaderno conserva tu trabajo. Para vaciar de verdad una respuesta:
# `answer("s2_q1", "", clear=True)`.
# <!-- en -->
# ## 6. Questions
#
# Write each answer between the triple quotes (numbers and choices between the quotes of `""`)
# and run the cell: it is saved at once. `progress()` lists what is still missing.
#
# An **empty answer cell never erases** a saved answer: "Run all" on a fresh copy of this
# notebook keeps your work. To really empty an answer: `answer("s2_q1", "", clear=True)`.

# %%
# @questions 2

# %%
progress()

# %% [markdown]
# <!-- es -->
# ## 7. El informe
#
# `build_report` escribe el informe a partir de tu fichero de respuestas: `report.pdf` si LaTeX
# está instalado, y siempre `report.docx`, las fuentes LaTeX y `report-overleaf.zip`. Sin LaTeX
# (como en Colab), sube el zip a [Overleaf](https://www.overleaf.com) (*New project → Upload
# project*) y compílalo allí.
# <!-- en -->
# ## 7. The report
#
# `build_report` writes the report from your answers file: `report.pdf` when LaTeX is installed,
# always `report.docx`, the LaTeX sources and `report-overleaf.zip`. Without LaTeX (as on Colab),
# upload the zip to [Overleaf](https://www.overleaf.com) (*New project → Upload project*) and
# compile it there.

# %%
from labkit.colab import in_colab
from labkit.report.latex import build_report

built = build_report(store().path, OUT / "report")
for kind, path in built.items():
    print(f"{kind:6s} {path}")
if "pdf" not in built and in_colab():
    from google.colab import files

    files.download(str(built["zip"]))  # [es] el proyecto de Overleaf, a tu ordenador [en] the Overleaf project, to your computer
