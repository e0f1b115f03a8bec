#!/usr/bin/env bash
# Install the minimal TeX set that `labkit report build` needs (Debian/Ubuntu, e.g. Colab or CI).
# Idempotent: does nothing when pdflatex, latexmk and pdftotext are already on PATH.
# Never fails the caller: when installing is not possible it says why and exits 0, so that the
# PDF tests then fail loudly with their own message instead of being skipped.
set -u

PACKAGES=(
  texlive-latex-base        # pdflatex, LaTeX kernel, graphicx
  texlive-latex-recommended # booktabs, hyperref, xcolor, babel
  texlive-lang-spanish      # babel-spanish
  texlive-science           # siunitx
  latexmk                   # the build driver
  lmodern                   # Latin Modern Type 1 fonts for T1 encoding
  poppler-utils             # pdftotext / pdftoppm, used by the tests
)

if command -v pdflatex >/dev/null && command -v latexmk >/dev/null && command -v pdftotext >/dev/null \
   && kpsewhich siunitx.sty spanish.ldf lmodern.sty >/dev/null 2>&1; then
  echo "install-tex: TeX already installed ($(command -v pdflatex))"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-tex: apt-get not found; install ${PACKAGES[*]} by hand (or use the Overleaf zip)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "install-tex: not root and no password-less sudo; install ${PACKAGES[*]} by hand (or use the Overleaf zip)"
    exit 0
  fi
fi
echo "install-tex: apt-get install ${PACKAGES[*]} (about 155 MB, ~30 s)"
export DEBIAN_FRONTEND=noninteractive
LOG="$(mktemp)"
if $SUDO apt-get update -qq >"$LOG" 2>&1 \
   && $SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >>"$LOG" 2>&1; then
  echo "install-tex: done ($(pdflatex --version | head -n 1))"
else
  tail -n 20 "$LOG"
  echo "install-tex: apt-get failed; the PDF build and its tests will not work until TeX is installed"
fi
rm -f "$LOG"
exit 0
