"""The repository is named once, in pyproject.toml; README badges and notebook clone cells follow it.

Also: the notebooks are committed clean (valid nbformat, no outputs), and scripts/set_repository_url.py
(`make urls`) rewrites every place after a fork.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
SESSIONS = sorted((REPO / "notebooks" / "src").glob("*.py"))  # the bilingual sources, one per session
SOURCES = [REPO / "notebooks" / "src" / "shared" / "setup.py"]  # the setup cell every session includes
NOTEBOOKS = [REPO / "notebooks" / lang / f"{source.stem}.ipynb" for lang in ("es", "en") for source in SESSIONS]
SCRIPT = REPO / "scripts" / "set_repository_url.py"
GITHUB_REPO = re.compile(r"(?:github\.com|colab\.research\.google\.com/github)/([\w.-]+/[\w.-]+?)(?:\.git)?(?=[/\"'\s)]|$)")


def pyproject_url(root: Path = REPO) -> str:
    with open(root / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"]


def owner_name(url: str) -> str:
    return url.removeprefix("https://github.com/").rstrip("/")


def clone_urls(path: Path) -> list[str]:
    """The values given to REPOSITORY in the notebook's code cells (or in a source's lines)."""
    if path.suffix == ".py":
        return re.findall(r'^REPOSITORY = "([^"]*)"', path.read_text(encoding="utf-8"), re.M)
    cells = nbformat.read(path, as_version=4).cells
    return [m for c in cells if c.cell_type == "code" for m in re.findall(r'^REPOSITORY = "([^"]*)"', c.source, re.M)]


def test_repository_url_is_a_github_repository():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", pyproject_url())


def test_readme_badges_open_every_notebook_of_this_repository_spanish_first():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    expected = f"https://colab.research.google.com/github/{owner_name(pyproject_url())}/blob/main/"
    for notebook in NOTEBOOKS:
        assert expected + str(notebook.relative_to(REPO)) in readme
    for source in SESSIONS:  # on each session's line, the Spanish badge comes first
        assert readme.index(f"notebooks/es/{source.stem}.ipynb") < readme.index(f"notebooks/en/{source.stem}.ipynb")
    assert set(GITHUB_REPO.findall(readme)) == {owner_name(pyproject_url())}  # no other repository named anywhere


@pytest.mark.parametrize("path", SOURCES + NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_notebook_clones_exactly_the_repository(path):
    assert clone_urls(path) == [pyproject_url()]
    sources = path.read_text(encoding="utf-8") if path.suffix == ".py" else "\n".join(
        cell.source for cell in nbformat.read(path, as_version=4).cells)
    assert set(GITHUB_REPO.findall(sources)) == {owner_name(pyproject_url())}  # markdown links included


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_notebook_is_valid_and_committed_clean(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "a notebook without code cells"
    dirty = [i for i, cell in enumerate(code) if cell.outputs or cell.execution_count is not None]
    assert not dirty, f"{path.name}: code cells {dirty} carry outputs or execution counts; clear them before committing"
    assert notebook.metadata["kernelspec"]["name"] == "python3"


def fork(tmp_path: Path) -> Path:
    """A copy of the files the script touches, in a fake checkout."""
    root = tmp_path / "fork"
    for path in (REPO / "pyproject.toml", REPO / "README.md", *SOURCES, *NOTEBOOKS):
        (root / path.relative_to(REPO)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / path.relative_to(REPO))
    return root


def run_script(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root), *args], capture_output=True, text=True)


def test_set_repository_url_follows_a_fork_and_is_idempotent(tmp_path):
    root = fork(tmp_path)
    assert run_script(root, "--check").returncode == 0  # the committed files are up to date
    pyproject = root / "pyproject.toml"
    old, new = pyproject_url(root), "https://github.com/uc3m-audio/practica2-locutor"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(f'Repository = "{old}"', f'Repository = "{new}"'), encoding="utf-8")
    stale = run_script(root, "--check")
    assert stale.returncode == 1 and stale.stdout.count("out of date") == 1 + len(SOURCES) + len(NOTEBOOKS)

    (root / "README.md").chmod(0o644)
    result = run_script(root)
    assert result.returncode == 0, result.stderr
    assert (root / "README.md").stat().st_mode & 0o777 == 0o644  # rewritten, but still readable by others
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert set(GITHUB_REPO.findall(readme)) == {"uc3m-audio/practica2-locutor"}
    assert "https://colab.research.google.com/github/uc3m-audio/practica2-locutor/blob/main/notebooks/es/session2.ipynb" in readme
    for source in SOURCES:
        assert clone_urls(root / source.relative_to(REPO)) == [new]
    for notebook in NOTEBOOKS:
        path = root / notebook.relative_to(REPO)
        assert clone_urls(path) == [new]
        nbformat.validate(nbformat.read(path, as_version=4))
        before, after = json.loads(notebook.read_text(encoding="utf-8")), json.loads(path.read_text(encoding="utf-8"))
        changed = [i for i, (a, b) in enumerate(zip(before["cells"], after["cells"])) if a != b]
        assert len(changed) == 1  # only the setup cell
    snapshot = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert run_script(root).returncode == 0 and run_script(root, "--check").returncode == 0
    assert snapshot == {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}  # a second run changes nothing


def test_set_repository_url_refuses_a_url_that_is_not_a_github_repository(tmp_path):
    root = fork(tmp_path)
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(re.sub(r'Repository = "[^"]*"', 'Repository = "https://gitlab.com/a/b"', text), encoding="utf-8")
    readme_before = (root / "README.md").read_bytes()
    result = run_script(root)
    assert result.returncode != 0
    assert "pyproject.toml" in result.stderr and "https://github.com/OWNER/NAME" in result.stderr
    assert (root / "README.md").read_bytes() == readme_before
