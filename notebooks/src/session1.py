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
# ## Sesión 1: entorno, datos, exploración y líneas clave del código
#
# La verificación de locutor responde a una sola pregunta: *¿estas dos grabaciones son de la misma
# persona?* Cada pareja así es un **trial**. Una red neuronal convierte cada locución en un vector
# de tamaño fijo (un **embedding**), los dos embeddings se comparan con la similitud coseno y un
# umbral decide "mismo locutor" o "distinto locutor".
#
# En esta sesión prepararás el entorno, conocerás los datos (los escucharás y verás sus
# características) y encontrarás las pocas líneas de la librería `labkit` donde ocurre lo
# importante. Responde a las preguntas del final: cada celda `answer(...)` guarda la respuesta al
# momento, y el informe se genera con las respuestas guardadas en la sesión 2.
# <!-- en -->
# # Práctica 2: Speaker Recognition on VoxCeleb
# ## Session 1: environment, data, exploration, key lines of the code
#
# Speaker verification answers one question: *do these two recordings come from the same person?*
# Each such pair is a **trial**. A neural network turns every utterance into a fixed-size vector
# (an **embedding**), two embeddings are compared with the cosine similarity, and a threshold
# decides "same" or "different".
#
# In this session you will set up the environment, get to know the data (listen to it, look at
# its features), and find the few lines of the `labkit` library where the important things
# happen. Answer the questions at the end: every `answer(...)` cell saves at once, and the report
# is built from the saved answers in session 2.

# %%
# @include shared/setup.py

# %% [markdown]
# <!-- es -->
# Quiénes sois, para el informe (se guarda con vuestras respuestas).
# <!-- en -->
# Who you are, for the report (saved with your answers).

# %%
from labkit.report.questions import answer, attach, progress, set_info

STUDENTS = []  # [es] p. ej. [("Ana García", "100456789"), ("Luis Pérez", "100456790")] [en] e.g. [("Ana García", "100456789"), ("Luis Pérez", "100456790")]
# [es] El idioma y los datos del informe (el modo rápido nunca se presenta como VoxCeleb); sin STUDENTS, los nombres ya guardados se conservan. [en] The report's language and data (quick mode is never presented as VoxCeleb); without STUDENTS, names saved before are kept.
set_info(students=STUDENTS or None, language=LANGUAGE, data_mode="quick" if QUICK else "voxceleb")

# %%
# @include shared/data.py

# %% [markdown]
# <!-- es -->
# ## 2. Explorar los datos
#
# Un **manifiesto** es una tabla con una fila por locución: su locutor, su sesión (en VoxCeleb, el
# vídeo de YouTube del que se recortó), su fichero y su duración. Construimos uno para el audio de
# entrenamiento y otro para las locuciones que usan los trials de test. Los locutores de
# entrenamiento y de test nunca coinciden: el sistema debe verificar voces que nunca ha oído.
# <!-- en -->
# ## 2. Exploring the data
#
# A **manifest** is a table with one row per utterance: its speaker, its session (in VoxCeleb, the
# YouTube video it was cut from), its file and its duration. We build one for the training audio
# and one for the utterances that the test trials use. Training and test speakers never overlap:
# the system must verify voices it has never heard.

# %%
import pandas as pd

from labkit.data.voxceleb import read_train_list
from labkit.evaluate import trial_manifest
from labkit.i18n import label, readable

train = read_train_list(TRAIN_ROOT / "meta" / "train_list.txt", TRAIN_ROOT)
test = trial_manifest(TEST_ROOT, trials)
data_table = pd.DataFrame([{
    "set": name,
    "speakers": manifest["speaker"].nunique(),
    "sessions": manifest[["speaker", "session"]].drop_duplicates().shape[0],
    "utterances": len(manifest),
    "hours": round(manifest["duration"].sum() / 3600, 2),
    "mean_s": round(manifest["duration"].mean(), 2),
} for name, manifest in ((label("train"), train), (label("test"), test))])
data_table = readable(data_table)  # [es] cabeceras legibles en el idioma elegido [en] readable headers in the chosen language
attach("tab_data", data_table)  # [es] la tabla de datos del informe [en] the data table of the report
data_table

# %% [markdown]
# <!-- es -->
# ¿Cuánto duran las locuciones y cuántas tiene cada locutor? Las locuciones cortas llevan menos
# información sobre la voz; los locutores con pocas locuciones son más difíciles de aprender.
# <!-- en -->
# How long are the utterances, and how many does each speaker have? Short utterances carry less
# information about the voice; speakers with few utterances are harder to learn.

# %%
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2), layout="constrained")
left.hist([train["duration"], test["duration"]], bins=30, label=[label("train"), label("test")])
left.set(xlabel="duración (s)", ylabel="locuciones", title="Duración de las locuciones")  # [es]
left.set(xlabel="duration (s)", ylabel="utterances", title="Utterance durations")  # [en]
left.legend()
right.hist(train.groupby("speaker").size(), bins=30)
right.set(xlabel="locuciones por locutor", ylabel="locutores", title="Locuciones de entrenamiento por locutor")  # [es]
right.set(xlabel="utterances per speaker", ylabel="speakers", title="Training utterances per speaker")  # [en]
plt.show()

# %% [markdown]
# <!-- es -->
# ### Escucha
#
# Dos locutores de test, dos sesiones de cada uno. Fíjate en lo que se mantiene dentro de un
# locutor (tono, timbre, acento) y en lo que cambia entre sesiones (micrófono, sala, ruido de
# fondo). Un buen embedding conserva lo primero e ignora lo segundo.
# <!-- en -->
# ### Listen
#
# Two test speakers, two sessions each. Listen for what stays the same within a speaker (pitch,
# timbre, accent) and what changes between sessions (microphone, room, background noise). A good
# embedding keeps the first and ignores the second.

# %%
from IPython.display import Audio, display

for speaker in sorted(test["speaker"].unique())[:2]:
    utterances = test[test["speaker"] == speaker]
    for session in sorted(utterances["session"].unique())[:2]:
        row = utterances[utterances["session"] == session].iloc[0]
        print(f"{speaker}  sesión {session}  {row['duration']:.1f} s")  # [es]
        print(f"{speaker}  session {session}  {row['duration']:.1f} s")  # [en]
        display(Audio(filename=str(row["path"])))

# %% [markdown]
# <!-- es -->
# ### Lo que ve la red: características log-mel
#
# El modelo no lee la forma de onda directamente: su **front-end** (`labkit/features.py`) corta la
# señal en tramas de 25 ms cada 10 ms, calcula el espectro de cada trama, lo agrupa en bandas mel
# (espaciadas como la percepción humana del tono) y toma el logaritmo. El resultado es una imagen
# de `n_mels × tramas`, que la ResNet procesa como una foto. El front-end va *dentro* del modelo,
# así que el entrenamiento y el test usan siempre exactamente las mismas características.
# <!-- en -->
# ### What the network sees: log-mel features
#
# The model does not read the waveform directly: its **front-end** (`labkit/features.py`) cuts the
# signal into 25 ms frames every 10 ms, takes the spectrum of each frame, groups it into mel bands
# (spaced like human pitch perception) and takes the logarithm. The result is an image of
# `n_mels × frames`, which the ResNet processes like a picture. The front-end lives *inside* the
# model, so training and testing always use exactly the same features.

# %%
import soundfile as sf
import torch

from labkit.config import FrontendConfig
from labkit.features import build_frontend

frontend = build_frontend(FrontendConfig())  # [es] el mismo módulo que todo modelo de labkit lleva como model.frontend [en] the same module every labkit model carries as model.frontend
row = test.iloc[0]
audio, rate = sf.read(row["path"], dtype="float32")
with torch.no_grad():
    feats, _ = frontend(torch.from_numpy(audio)[None])
print(f"{row['utt']}: {len(audio)} muestras a {rate} Hz -> características {tuple(feats.shape)} (lote, bandas mel, tramas)")  # [es]
print(f"{row['utt']}: {len(audio)} samples at {rate} Hz -> features {tuple(feats.shape)} (batch, mel bands, frames)")  # [en]

fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5), layout="constrained")
top.plot(torch.arange(len(audio)) / rate, audio, linewidth=0.3)
top.set(xlabel="tiempo (s)", title=f"Forma de onda: {row['utt']}")  # [es]
top.set(xlabel="time (s)", title=f"Waveform: {row['utt']}")  # [en]
image = bottom.imshow(feats[0].numpy(), origin="lower", aspect="auto", extent=(0, len(audio) / rate, 0, feats.shape[1]))
bottom.set(xlabel="tiempo (s)", ylabel="banda mel", title="Características log-mel (salida del front-end)")  # [es]
bottom.set(xlabel="time (s)", ylabel="mel band", title="Log-mel features (front-end output)")  # [en]
fig.colorbar(image, ax=bottom)
plt.show()

# %% [markdown]
# <!-- es -->
# ### Los locutores sintéticos (solo en modo rápido)
#
# Cada locutor sintético se genera con sus propios rasgos de voz: tono (F0), longitud del tracto
# vocal (escala de formantes), inclinación espectral, jitter, shimmer, soplo, velocidad de habla y
# acento. Dos locutores con rasgos cercanos son difíciles de distinguir, igual que con voces reales.
# <!-- en -->
# ### The synthetic speakers (quick mode only)
#
# Each synthetic speaker is drawn with its own voice traits: pitch (F0), vocal-tract length
# (formant scale), spectral tilt, jitter, shimmer, breathiness, speaking rate and accent. Two
# speakers with close traits are hard to tell apart, just as with real voices.

# %%
if QUICK:
    speakers = pd.read_csv(TEST_ROOT / "meta" / "speakers.csv")
    display(speakers.drop(columns=["accent"]).groupby("split").describe().T.round(2))
    display(speakers.head())

# %% [markdown]
# <!-- es -->
# ## 3. Líneas clave del código
#
# Todo el sistema cabe en unas pocas decenas de líneas. Las celdas siguientes las imprimen
# directamente de la librería, con el fichero y los números de línea (las citarás en la pregunta
# s1_q3).
# <!-- en -->
# ## 3. Key lines of the code
#
# The whole system fits in a few dozen lines. The cells below print them straight from the
# library, with the file and line numbers (you will quote them in question s1_q3).

# %%
import inspect

import labkit


def show(function):
    """Imprime una función de la librería con su fichero y sus números de línea."""  # [es]
    """Print a function of the library with its file and line numbers."""  # [en]
    lines, start = inspect.getsourcelines(function)
    path = Path(inspect.getsourcefile(function)).relative_to(Path(labkit.__file__).parents[1])
    print(f"# {path}, líneas {start}-{start + len(lines) - 1}")  # [es]
    print(f"# {path}, lines {start}-{start + len(lines) - 1}")  # [en]
    print("".join(f"{start + i:4d}  {line}" for i, line in enumerate(lines)))

# %% [markdown]
# <!-- es -->
# **Recortes aleatorios.** El entrenamiento ve un trozo aleatorio de longitud fija de cada locución
# (2 s en la receta por defecto), uno nuevo en cada época: lotes de forma igual y una forma barata
# de aumento de datos. Busca dónde se elige `start`.
# <!-- en -->
# **Random crops.** Training sees a random fixed-length piece of each utterance (2 s in the
# default recipe), a new one every epoch: batches of equal shape, and a cheap form of data
# augmentation. Look for where `start` is chosen.

# %%
from labkit.data.dataset import TrainCrops

show(TrainCrops.__getitem__)

# %% [markdown]
# <!-- es -->
# **Características.** El front-end por defecto calcula bancos de filtros de Kaldi: forma de onda →
# tramas de 25 ms cada 10 ms → eliminación de la continua y preénfasis → ventana → espectro de
# potencia → banco de filtros mel (un producto de matrices) → `log`. El bucle `for` solo pasa las
# tramas por trozos que caben en la caché de la CPU: lee su cuerpo, los pasos están ahí. Después
# `Frontend.forward` normaliza cada banda mel (resta la media en el tiempo).
# <!-- en -->
# **Features.** The default front-end computes Kaldi filterbanks: waveform → 25 ms frames every
# 10 ms → DC removal and pre-emphasis → window → power spectrum → mel filterbank (a matrix
# product) → `log`. The `for` loop only feeds the frames through in pieces that fit the CPU's
# cache: read its body, the steps are there. `Frontend.forward` then normalises each mel band
# (mean over time).

# %%
from labkit.features import Frontend, kaldi_fbank

show(kaldi_fbank)
show(Frontend.forward)

# %% [markdown]
# <!-- es -->
# **El bloque residual.** Dos convoluciones 3×3 *F(x)* y, después, el atajo: la entrada se vuelve a
# sumar a su salida en `_finish`. Busca `out + x`: esa suma es la que permite entrenar redes muy
# profundas (el gradiente vuelve a través de ella sin cambios).
# <!-- en -->
# **The residual block.** Two 3×3 convolutions *F(x)*, and then the shortcut: the input is added
# back to their output in `_finish`. Look for `out + x`: that addition is what makes very deep
# networks trainable (the gradient flows back through it unchanged).

# %%
from labkit.models.resnet import BasicBlock, ResidualBlock

show(BasicBlock.forward)
show(ResidualBlock._finish)

# %% [markdown]
# <!-- es -->
# **Pooling.** La ResNet produce un mapa de características cuya longitud depende de la duración
# de la locución; el pooling de estadísticos temporales (TSTP) lo convierte en un vector de tamaño
# fijo: la media y la desviación típica de cada canal en el tiempo. Una capa lineal después da el
# **embedding**: busca `self.embedding(self.pool(...))` en `SpeakerResNet.forward`.
# <!-- en -->
# **Pooling.** The ResNet outputs a feature map whose length depends on the utterance's duration;
# temporal statistics pooling (TSTP) turns it into a fixed-size vector: the mean and standard
# deviation of each channel over time. A linear layer after it gives the **embedding**: look for
# `self.embedding(self.pool(...))` in `SpeakerResNet.forward`.

# %%
from labkit.models.pooling import TSTP
from labkit.models.resnet import SpeakerResNet

show(TSTP.forward)
show(SpeakerResNet.forward)

# %% [markdown]
# <!-- es -->
# **La función de pérdida.** El entrenamiento clasifica a los locutores de entrenamiento con un
# margen angular aditivo (AAM-softmax, como en ArcFace): el ángulo con el locutor correcto recibe
# una penalización *m*, así que la red debe juntar mucho los embeddings de cada locutor para seguir
# acertando. Fíjate en `cos(θ + m)`.
# <!-- en -->
# **The loss.** Training classifies the training speakers with an additive angular margin
# (AAM-softmax, as in ArcFace): the angle to the correct speaker gets a penalty *m*, so the
# network must pull each speaker's embeddings tightly together to still be right. Look at
# `cos(θ + m)`.

# %%
from labkit.models.losses import MarginSoftmax

show(MarginSoftmax.target_logit)
show(MarginSoftmax.logits)

# %% [markdown]
# <!-- es -->
# **Puntuación.** En test el clasificador se descarta: la puntuación de un trial es la similitud
# coseno de sus dos embeddings normalizados (un producto escalar).
# <!-- en -->
# **Scoring.** At test time the classifier is thrown away: a trial's score is the cosine
# similarity of its two length-normalised embeddings (a dot product).

# %%
from labkit.scoring import cosine_scores

show(cosine_scores)

# %% [markdown]
# <!-- es -->
# **La EER.** Al recorrer el umbral por todas las puntuaciones, la tasa de falsa aceptación baja
# mientras la de falso rechazo sube. La tasa de igual error (EER) es donde se cruzan las dos curvas.
# <!-- en -->
# **The EER.** Sweep the threshold over all scores: the false-acceptance rate falls as the
# false-rejection rate rises. The equal error rate is where the two curves cross.

# %%
from labkit import metrics

show(metrics.det_curve)
show(metrics.eer)

# %% [markdown]
# <!-- es -->
# ## 4. Lo que cuentan las transparencias, visto con tus datos
#
# ### Verificación frente a identificación
#
# La **verificación** responde a "¿es esta persona quien dice ser?": un trial, una puntuación y un
# umbral. La **identificación** responde a "¿cuál de los N locutores registrados habla?": cada
# locutor se registra con la media de los embeddings de su primera sesión y cada locución de sus
# otras sesiones se asigna al registro más parecido (coseno). No hace falta umbral, pero cuantos
# más locutores registrados, más ocasiones de que otra voz quede más cerca. Los embeddings son los
# del modelo preentrenado (la sesión 2 lo evalúa a fondo).
# <!-- en -->
# ## 4. What the slides tell, seen on your data
#
# ### Verification vs identification
#
# **Verification** answers "is this person who they claim to be?": one trial, one score, one
# threshold. **Identification** answers "which of N enrolled speakers is speaking?": each speaker
# is enrolled with the mean embedding of their first session, and every utterance of their other
# sessions goes to the closest enrolment (cosine). No threshold is needed, but the more speakers
# are enrolled, the more chances that another voice lies closer. The embeddings come from the
# pretrained model (session 2 evaluates it in depth).

# %%
from labkit import models, pretrained
from labkit.embed import extract, pick_device
from labkit.identification import confusion_figure, enrolment_split, identify

if QUICK:
    embedder = pretrained.load()
else:
    from labkit.data.download import download

    embedder = models.load(download(["wespeaker_resnet34"], DATA)[0])  # [es] también se guarda en Drive [en] kept on Drive too
N_SPEAKERS = min(10, test["speaker"].nunique())  # [es] locutores registrados: prueba con más [en] enrolled speakers: try more
enrol, held_out = enrolment_split(test, N_SPEAKERS)
ids, embeddings = extract(embedder.to(pick_device("auto")), pd.concat([enrol, held_out]), cache_dir=OUT / "cache")
identification = identify(ids, embeddings, enrol, held_out)
first, own = held_out.iloc[0], identification.truth[0]
impostor = int(identification.scores[0].argsort()[-2 if identification.predicted[0] == own else -1])  # [es] el registro ajeno más parecido [en] the closest other enrolment
print(f"Verificación: ¿es {first['utt']} de {identification.speakers[own]}? puntuación {identification.scores[0, own]:.3f}; "  # [es]
      f"¿de {identification.speakers[impostor]}? {identification.scores[0, impostor]:.3f}. Un umbral decide cada trial.")  # [es]
print(f"Identificación: {N_SPEAKERS} locutores registrados con {len(enrol)} locuciones; {len(held_out)} locuciones de "  # [es]
      f"otras sesiones asignadas al registro más cercano: acierto top-1 {100 * identification.accuracy:.1f} %")  # [es]
print(f"Verification: is {first['utt']} {identification.speakers[own]}? score {identification.scores[0, own]:.3f}; "  # [en]
      f"{identification.speakers[impostor]}? {identification.scores[0, impostor]:.3f}. A threshold decides each trial.")  # [en]
print(f"Identification: {N_SPEAKERS} speakers enrolled with {len(enrol)} utterances; {len(held_out)} utterances of "  # [en]
      f"other sessions given to the closest enrolment: top-1 accuracy {100 * identification.accuracy:.1f} %")  # [en]
confusion_figure(identification)

# %% [markdown]
# <!-- es -->
# ### El x-vector
#
# El artículo de las transparencias (Snyder et al., 2018) usa una red TDNN: cinco capas que miran
# una ventana de tramas alrededor de cada instante (su **contexto**: 5, 9 y 15 tramas), un pooling
# de estadísticos (media y desviación típica sobre toda la locución) y dos capas de segmento. El
# **x-vector** es la salida de `segment6`, antes de su ReLU; `segment7` y el clasificador solo
# sirven para entrenar. La tabla lo dice capa a capa (parámetros y MACs para 2 s de audio).
# <!-- en -->
# ### The x-vector
#
# The paper in the slides (Snyder et al., 2018) uses a TDNN: five layers that look at a window of
# frames around each instant (their **context**: 5, 9 and 15 frames), statistics pooling (mean and
# standard deviation over the whole utterance) and two segment layers. The **x-vector** is
# `segment6`'s output, before its ReLU; `segment7` and the classifier only serve training. The
# table says it layer by layer (parameters and MACs for 2 s of audio).

# %%
from labkit.models.summary import format_summary
from labkit.models.xvector import XVector
from labkit.xvector_layers import EMBEDDING_LAYER, xvector_layers

show(XVector.forward)
print(format_summary(xvector_layers()))
print(f"el embedding (x-vector) se toma en: {EMBEDDING_LAYER}")  # [es]
print(f"the embedding (x-vector) is taken at: {EMBEDDING_LAYER}")  # [en]

# %% [markdown]
# <!-- es -->
# ### Por qué conexiones residuales: la misma red con y sin atajos
#
# `plain=True` construye la ResNet34 sin sus atajos (la "red plana" del artículo de ResNet). A la
# izquierda, la norma del gradiente que llega a cada bloque en la inicialización: **sin batch
# normalization** (las redes de la época de VGG), el gradiente de la red plana es órdenes de
# magnitud menor (se desvanece); con batch normalization no se desvanece (el propio artículo de
# ResNet lo dice). A la derecha, la pérdida de los primeros pasos de las dos con los mismos lotes:
# tras tan pocos pasos, cuál va por delante depende de los datos; el artículo de ResNet muestra que,
# con entrenamiento largo, la red plana profunda acaba peor (el problema de degradación): sin atajo,
# cada bloque tiene que aprender a dejar pasar su entrada; con él, no hacer nada es lo de partida y
# cada bloque solo aprende una corrección.
# <!-- en -->
# ### Why residual connections: the same network with and without shortcuts
#
# `plain=True` builds ResNet34 without its shortcuts (the ResNet paper's "plain network"). Left,
# the norm of the gradient reaching each block at initialisation: **without batch normalisation**
# (the networks of the VGG era), the plain network's gradient is orders of magnitude smaller (it
# vanishes); with batch normalisation it does not vanish (the ResNet paper says so itself). Right,
# the first training losses of both on the same batches: after so few steps, which one is ahead
# depends on the data; the ResNet paper shows that with long training the deep plain network ends
# worse (the degradation problem): without a shortcut, each block must learn to let its input
# through; with one, doing nothing is the starting point and each block only learns a correction.

# %%
from labkit.plain_vs_residual import compare, figure as plain_vs_residual_figure

comparison = compare(train)  # [es] ~20 s en una CPU de 2 núcleos: 16 locutores, 40 pasos de 8 recortes de 0,5 s [en] ~20 s on a 2-core CPU: 16 speakers, 40 steps of 8 crops of 0.5 s
for batch_norm in (False, True):
    plain, residual = (comparison.early_block_norm(network, batch_norm) for network in ("plain", "residual"))
    print(f"{'con' if batch_norm else 'sin'} BN: gradiente en el primer bloque: plana {plain:.3g}, residual {residual:.3g}")  # [es]
    print(f"{'with' if batch_norm else 'without'} BN: gradient at the first block: plain {plain:.3g}, residual {residual:.3g}")  # [en]
final = comparison.losses.groupby("network")["loss"].last()
print(f"pérdida tras {comparison.losses['step'].max()} pasos: plana {final['plain']:.3f}, residual {final['residual']:.3f}")  # [es]
print(f"loss after {comparison.losses['step'].max()} steps: plain {final['plain']:.3f}, residual {final['residual']:.3f}")  # [en]
plain_vs_residual_figure(comparison)

# %% [markdown]
# <!-- es -->
# ### La tabla de ResNet de las transparencias
#
# Las ResNet de ImageNet (imágenes de 224 × 224, 1000 clases), construidas con el mismo
# `labkit/models/resnet.py` que nuestras redes de locutor, junto a las cifras de las transparencias.
# **FLOPs y MACs:** una multiplicación-acumulación (MAC) `a·b + c` son dos operaciones en coma
# flotante (FLOPs), así que FLOPs = 2 × MACs. La fila "FLOPs" del artículo (1,8 × 10⁹ para
# ResNet-18) cuenta en realidad multiplicaciones-acumulaciones, como era costumbre; las
# herramientas que cuentan operación a operación dan el doble. Debajo, lo que cuestan nuestras
# ResNet de locutor para 2 s de audio (80 bandas mel): la profundidad y la anchura multiplican el coste.
# <!-- en -->
# ### The ResNet table of the slides
#
# The ImageNet ResNets (224 × 224 images, 1000 classes), built by the same
# `labkit/models/resnet.py` as our speaker networks, next to the slides' figures. **FLOPs and
# MACs:** a multiply-add (MAC) `a·b + c` is two floating-point operations (FLOPs), so FLOPs =
# 2 × MACs. The paper's "FLOPs" row (1.8 × 10⁹ for ResNet-18) actually counts multiply-adds, as was
# usual then; tools that count operation by operation report twice that. Below, what our speaker
# ResNets cost for 2 s of audio (80 mel bands): depth and width multiply the cost.

# %%
from labkit.seed_table import seed_table, speaker_costs

table = seed_table()
print(f"nuestros MACs / cifras de las transparencias: de {table['GMACs / seed'].min():.3f} a {table['GMACs / seed'].max():.3f}")  # [es]
print(f"our MACs / the slides' figures: from {table['GMACs / seed'].min():.3f} to {table['GMACs / seed'].max():.3f}")  # [en]
display(readable(table))
readable(speaker_costs())

# %% [markdown]
# <!-- es -->
# ## 5. Preguntas
#
# Escribe cada respuesta entre las comillas triples y ejecuta la celda: se guarda al momento
# (volver a ejecutarla la sobrescribe). Responde en español o en inglés. `progress()`, al final,
# lista lo que falta.
#
# Una celda de respuesta **vacía nunca borra** una respuesta guardada: "Ejecutar todo" en una copia
# nueva de este cuaderno conserva tu trabajo. Para vaciar de verdad una respuesta:
# `answer("s1_q1", "", clear=True)`.
# <!-- en -->
# ## 5. Questions
#
# Write each answer between the triple quotes and run the cell: it is saved at once (re-running
# overwrites it). Answer in Spanish or English. `progress()` at the end lists what is still missing.
#
# An **empty answer cell never erases** a saved answer: "Run all" on a fresh copy of this
# notebook keeps your work. To really empty an answer: `answer("s1_q1", "", clear=True)`.

# %%
# @questions 1

# %%
progress()
