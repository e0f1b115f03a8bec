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
# ## 0. Preparación
#
# Elige cómo trabajar en la primera celda y ejecuta las dos:
#
# * `QUICK = True` (por defecto): el **corpus sintético** incluido en labkit: locutores artificiales
#   con la estructura de carpetas de VoxCeleb, generados en segundos. Todo se ejecuta en minutos,
#   incluso en una CPU y sin red.
# * `QUICK = False`: los **datos reales**: VoxCeleb1 test con la lista de trials Vox1-O depurada, y un
#   subconjunto de ~100 horas de VoxCeleb2 dev para entrenar. Necesita Colab con GPU: elige primero
#   *Entorno de ejecución → Cambiar tipo de entorno de ejecución → GPU T4*.
# * `LANGUAGE`: el idioma de los mensajes, las figuras, las tablas y el informe (`"es"` o `"en"`).
#
# **En Google Colab** la segunda celda clona el repositorio del curso en `/content/labkit`, lo instala
# (`pip install -e`, que conserva el torch con CUDA de Colab) y, con `USE_DRIVE = True`, monta tu
# Google Drive para que tus respuestas y los checkpoints sobrevivan a una desconexión. **En tu
# propio ordenador** (con labkit instalado) solo comprueba la máquina. Si algo falla, la celda dice
# en una línea la causa (✗) y en la siguiente qué hacer (→).
#
# Si el entorno se desconecta, ejecuta de nuevo las celdas desde arriba hasta donde estabas: no se
# repite nada ya hecho (los datos, los embeddings y los entrenamientos terminados se reutilizan, un
# entrenamiento interrumpido continúa y tus respuestas guardadas no se tocan).
# <!-- en -->
# ## 0. Setup
#
# Choose how to work in the first cell, then run both:
#
# * `QUICK = True` (the default): the **synthetic corpus** embedded in labkit — artificial speakers
#   in VoxCeleb's folder layout, generated in seconds. Everything runs in minutes, even on a CPU
#   and without network.
# * `QUICK = False`: the **real data** — VoxCeleb1 test with the cleaned Vox1-O trial list, and a
#   ~100-hour subset of VoxCeleb2 dev for training. It needs Colab with a GPU: first choose
#   *Runtime → Change runtime type → T4 GPU*.
# * `LANGUAGE`: the language of messages, figures, tables and the report (`"es"` or `"en"`).
#
# **On Google Colab** the second cell clones the course repository into `/content/labkit`, installs it
# (`pip install -e`, which keeps Colab's own CUDA build of torch) and, with `USE_DRIVE = True`,
# mounts your Google Drive so that your answers and checkpoints survive a disconnect. **On your own
# computer** (with labkit installed) it only checks the machine. If something fails, the cell says
# the cause in one line (✗) and what to do in the next (→).
#
# If the runtime disconnects, run the cells again from the top down to where you were: nothing
# already done is repeated (the data, embeddings and finished training runs are reused, an
# interrupted training run resumes, and your saved answers are left alone).

# %%
QUICK = True  # [es] True: corpus sintético (minutos, cualquier máquina). False: VoxCeleb (Colab con GPU) [en] True: synthetic corpus (minutes, any machine). False: VoxCeleb (Colab with a GPU)
LANGUAGE = "es"  # [es] "es" o "en": mensajes, figuras, tablas e informe [en] "es" or "en": messages, figures, tables and the report
USE_DRIVE = True  # [es] Colab: respuestas y checkpoints en tu Google Drive [en] Colab: answers and checkpoints on your Google Drive

# %%
import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = "https://github.com/labkit-lab/labkit"  # = [project.urls] in pyproject.toml (`make urls`)
# [es] En Colab se clona el repositorio del curso (una vez por máquina); fuera de Colab, labkit ya está instalado. [en] On Colab the course repository is cloned (once per machine); elsewhere labkit is already installed.
CHECKOUT = Path("/content/labkit") if "google.colab" in sys.modules else None
if CHECKOUT and not CHECKOUT.exists():
    git = ["git", "clone", "-q", "--depth", "1", REPOSITORY, str(CHECKOUT)]
    clone = subprocess.run(git, capture_output=True, text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    if clone.returncode != 0:  # [es] git no pide contraseña: falla y dice por qué [en] git asks for no password: it fails and says why
        print(clone.stderr)
        cause = next((line for line in clone.stderr.splitlines() if line.startswith("fatal:")), clone.stderr)
        raise SystemExit(f"✗ git clone {REPOSITORY}: {cause}\n"
                         "→ Comprueba REPOSITORY: la dirección del curso en GitHub (la del botón del README).\n"  # [es]
                         "  Un repositorio privado no se puede clonar desde Colab: pide la copia pública.\n"  # [es]
                         "  Sin red: vuelve a ejecutar esta celda.")  # [es]
                         "→ Check REPOSITORY: the course's address on GitHub (as in the README's button).\n"  # [en]
                         "  A private repository cannot be cloned from Colab: ask for the public copy.\n"  # [en]
                         "  No network: run this cell again.")  # [en]
if CHECKOUT:
    sys.path.insert(0, str(CHECKOUT))  # [es] importable ya, sin reiniciar [en] importable at once, no restart
    os.chdir(CHECKOUT)

from labkit.colab import setup

# [es] Instala labkit, monta Drive, comprueba la GPU y PyAV; si algo falla, dice la causa (✗) y qué hacer (→). [en] Installs labkit, mounts Drive, checks the GPU and PyAV; on a failure it says the cause (✗) and what to do (→).
QUICK, PRESET, DATA, OUT = setup(QUICK, LANGUAGE, USE_DRIVE, checkout=CHECKOUT)

# %%
from labkit.doctor import doctor, format_table

# [es] Qué funciona en esta máquina y qué hacer con lo demás (`!labkit doctor` prueba además cada servidor de descarga). [en] What works on this machine and what to do about the rest (`!labkit doctor` also tries each download host).
print(format_table(doctor(DATA, sources=False)))
