"""The trained-model cache hands a model on only to the same code, configuration, data and seed."""
from __future__ import annotations

from pathlib import Path

from pytest_snnbench.models import code_fingerprint
from tests.test_identity import identity


def test_a_model_from_other_code_is_another_model(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    workload, edited = tmp_path / "a" / "test_mine.py", tmp_path / "b" / "test_mine.py"  # cached per path
    workload.write_text("STEP = 1\n")
    edited.write_text("STEP = 2\n")
    before = code_fingerprint(str(workload))
    assert code_fingerprint(str(edited)) != before
    # the cache key is the run identity's hash (pytest_snnbench.identity)
    assert identity(code=before).hash != identity(code=code_fingerprint(str(edited))).hash
    assert identity(code=before).hash == identity(code=before).hash


def test_a_model_from_an_edited_module_beside_the_workload_is_another_model(tmp_path: Path) -> None:
    """A workload in a folder of its own: its network and framework modules are its code too."""
    for name, neuron in (("a", "BETA = 0.5\n"), ("b", "BETA = 0.25\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "test_mine.py").write_text("STEP = 1\n")
        (tmp_path / name / "via_mine.py").write_text(neuron)
    assert code_fingerprint(str(tmp_path / "a" / "test_mine.py")) != code_fingerprint(str(tmp_path / "b" / "test_mine.py"))


def test_a_model_from_an_edited_subpackage_of_the_workload_is_another_model(tmp_path: Path) -> None:
    """Image-STDP's engines live in a subpackage of its folder (image_stdp/diehl_cook/); a folder
    that is not a package (data, a virtual environment) is not code."""
    for name, engine in (("a", "DECAY = 0.5\n"), ("b", "DECAY = 0.25\n")):
        (tmp_path / name / "engines").mkdir(parents=True)
        (tmp_path / name / "test_mine.py").write_text("STEP = 1\n")
        (tmp_path / name / "engines" / "__init__.py").write_text("")
        (tmp_path / name / "engines" / "fast.py").write_text(engine)
        (tmp_path / name / "venv").mkdir()
        (tmp_path / name / "venv" / "site.py").write_text(name)  # differs, but is not the workload's code
    assert code_fingerprint(str(tmp_path / "a" / "test_mine.py")) != code_fingerprint(str(tmp_path / "b" / "test_mine.py"))
    (tmp_path / "b" / "engines" / "fast.py").write_text("DECAY = 0.5\n")
    code_fingerprint.cache_clear()
    assert code_fingerprint(str(tmp_path / "a" / "test_mine.py")) == code_fingerprint(str(tmp_path / "b" / "test_mine.py"))
