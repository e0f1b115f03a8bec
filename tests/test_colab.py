"""The notebooks' setup explains each failure in one line (cause) and the next (fix), and stops before any download.

Each failure is made for real where it can be: a clone of a repository that does not exist (and a
local bare repository that does), pip on a broken project, ``google.colab.drive.mount`` refused by
a stand-in ``google.colab`` package, no GPU (``CUDA_VISIBLE_DEVICES=""``), no PyAV (import
blocked). The setup cell itself is taken from the generated notebooks.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

from labkit import colab, i18n
from notebook_kernel import NotebookClient, kernel, outputs

REPO = Path(__file__).resolve().parents[1]
MESSAGES = i18n.strings()


def setup_cell(lang: str) -> str:
    """The setup cell of session 1 in ``lang``, as a student runs it."""
    cells = nbformat.read(REPO / "notebooks" / lang / "session1.ipynb", as_version=4).cells
    return next(c.source for c in cells if c.cell_type == "code" and "REPOSITORY =" in c.source)


def fake_colab(root: Path, mount: str) -> Path:
    """A stand-in ``google.colab`` package (Colab's kernel imports it at start) whose drive.mount runs ``mount``."""
    package = root / "stand-in" / "google" / "colab"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "drive.py").write_text(f"def mount(path, **options):\n    {mount}\n")
    return root / "stand-in"


def run_python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter of this venv, with labkit importable and ``env`` added."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LABKIT_")}
    environment.update({"PYTHONPATH": os.pathsep.join([env.pop("PYTHONPATH", ""), str(REPO)]), **env})
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=environment, capture_output=True, text=True, timeout=300)


def colab_cell(lang: str, checkout: Path, repository: str) -> str:
    """The setup cell as it runs on Colab, with its checkout folder and repository moved for the test."""
    cell = setup_cell(lang).replace('Path("/content/labkit")', f"Path({str(checkout)!r})")
    return "import google.colab\nQUICK, LANGUAGE, USE_DRIVE = True, 'es', True\n" + re.sub(r'^REPOSITORY = "[^"]*"', f"REPOSITORY = {repository!r}", cell, flags=re.M)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_clone_of_a_wrong_repository_says_why_and_what_to_do(lang, tmp_path):
    stand_in = fake_colab(tmp_path, "pass")
    checkout = tmp_path / "content" / "labkit"
    result = run_python(colab_cell(lang, checkout, f"file://{tmp_path}/no-such-repository.git"), tmp_path, PYTHONPATH=str(stand_in))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    cause = next(i for i, line in enumerate(lines) if line.startswith("✗ "))
    assert lines[cause].startswith("✗ git clone file://") and "does not appear to be a git repository" in lines[cause]
    assert lines[cause + 1].startswith({"es": "→ Comprueba REPOSITORY", "en": "→ Check REPOSITORY"}[lang])
    assert {"es": "privado", "en": "private"}[lang] in lines[cause + 2]
    assert "Traceback" not in result.stderr and not checkout.exists()


def test_clone_of_a_reachable_repository_hands_over_to_labkit_setup(tmp_path):
    """A local bare repository stands for GitHub: cloned, then the checkout's own labkit.colab.setup runs."""
    work = tmp_path / "work"
    (work / "labkit").mkdir(parents=True)
    (work / "labkit" / "__init__.py").write_text("")
    (work / "labkit" / "colab.py").write_text(
        "from pathlib import Path\n"
        "def setup(quick, language, use_drive, checkout):\n"
        "    print('checkout setup', language, Path.cwd() == checkout)\n"
        "    return quick, 'lab', Path('data'), Path('out')\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    for command in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "course"]):
        subprocess.run([*git, *command], cwd=work, check=True)
    subprocess.run([*git, "clone", "-q", "--bare", str(work), str(tmp_path / "course.git")], check=True)
    stand_in = fake_colab(tmp_path, "pass")
    checkout = tmp_path / "content" / "labkit"
    code = colab_cell("es", checkout, f"file://{tmp_path}/course.git")
    result = run_python(code, tmp_path, PYTHONPATH=str(stand_in))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "checkout setup es True" and (checkout / "labkit" / "colab.py").is_file()


def test_pip_failure_shows_pips_own_reason_and_the_fix(tmp_path, monkeypatch):
    project = tmp_path / "checkout"
    project.mkdir()
    (project / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n'
                                            '[project]\nname = "course"\nversion = "0"\n')
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # as without network: pip finds nothing to build with
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-wheels"))
    with i18n.in_language("en"), pytest.raises(colab.SetupError) as failure:
        colab.install(project)
    assert failure.value.cause == "pip could not install labkit: ERROR: No matching distribution found for setuptools>=64"
    assert failure.value.fix.startswith("Run this cell again") and "exit code" in failure.value.details
    lines = failure.value._render_traceback_()
    assert lines[-2] == f"✗ {failure.value.cause}" and lines[-1] == f"→ {failure.value.fix}"


@pytest.mark.parametrize("lang", ["es", "en"])
def test_refused_drive_goes_on_with_local_answers_and_says_where(lang, tmp_path):
    stand_in = fake_colab(tmp_path, "raise Exception('MessageError: Error: credential propagation was unsuccessful')")
    code = f"import google.colab\nfrom labkit.colab import setup\nprint(setup(True, {lang!r}, use_drive=True))"
    result = run_python(code, tmp_path, PYTHONPATH=str(stand_in))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    with i18n.in_language(lang):
        assert lines[0] == "✗ " + i18n.t("setup.drive_failed", error="MessageError: Error: credential propagation was unsuccessful")
        assert lines[1] == "→ " + i18n.t("setup.drive_fix", path=tmp_path / "answers" / "answers.json")
    assert "QUICK=True" in lines[2] and "quick=True" in lines[-1]  # and the notebook goes on


def test_no_gpu_with_real_data_stops_before_any_download(tmp_path):
    code = "from labkit.colab import setup\nsetup(False, 'en', use_drive=False)"
    result = run_python(code, tmp_path, CUDA_VISIBLE_DEVICES="")
    assert result.returncode == 1
    assert "SetupError: " + MESSAGES["setup.no_gpu"]["en"] in result.stderr
    assert "Runtime → Change runtime type → T4 GPU" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no data folder, no download, nothing written


def test_missing_pyav_is_named_before_any_download(monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # PyAV absent: `import av` raises ImportError
    with i18n.in_language("es"), pytest.raises(colab.SetupError) as failure:
        colab.require_pyav()
    assert failure.value.cause.startswith("Falta PyAV") and "pip install av" in failure.value.fix


@pytest.mark.slow
def test_a_student_sees_the_cause_and_the_fix_without_a_traceback(tmp_path, monkeypatch):
    """In a real kernel, a SetupError shows two lines (✗ cause, → fix), not a Python traceback (about 10 s)."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.delenv("LABKIT_NOTEBOOK_QUICK", raising=False)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("from labkit.colab import setup\nsetup(False, 'es', False)")])
    NotebookClient(notebook, kernel_name=kernel(tmp_path, monkeypatch), allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    [error] = outputs(notebook, "error")
    assert error.splitlines() == ["✗ " + MESSAGES["setup.no_gpu"]["es"], "→ " + MESSAGES["setup.no_gpu_fix"]["es"]]


def test_requirements_and_pyproject_list_the_same_packages():
    def names(lines):
        return {re.split(r"[<>=!~ ;\[]", line.strip(), maxsplit=1)[0].lower(): line.replace(" ", "") for line in lines}

    with open(REPO / "pyproject.toml", "rb") as f:
        declared = names(tomllib.load(f)["project"]["dependencies"])
    required = names(line.split("#")[0] for line in (REPO / "requirements.txt").read_text().splitlines() if line.split("#")[0].strip())
    assert declared == required and "av" in declared  # PyAV (m4a -> wav) is a dependency for pip and Colab alike
