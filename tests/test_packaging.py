"""The wheel as pip installs it: the templates ship inside it and are found there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .helpers import REPO, SAMPLE


def test_an_installed_wheel_renders_letters_from_its_own_templates(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)],
                   check=True, capture_output=True)
    (wheel,) = wheels.glob("mailprov-*.whl")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    # run away from the source tree, so only the installed copy can be imported (dependencies come
    # from this interpreter's environment)
    env = {**os.environ, "PYTHONPATH": str(site), "COLUMNS": "160"}
    where = subprocess.run([sys.executable, "-c", "import mailprov; print(mailprov.__file__)"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, check=True)
    assert where.stdout.strip() == str(site / "mailprov" / "__init__.py")
    out = tmp_path / "letters"
    r = subprocess.run([sys.executable, "-m", "mailprov", "letters", "render", "-c", str(SAMPLE), "--agency",
                        "pemkab-sidoarjo", "--kind", "agency", "--format", "html", "--out", str(out)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert "sidoarjokab.go.id" in (out / "pemkab-sidoarjo" / "agency.html").read_text()


def test_the_lowest_versions_tested_are_the_lower_bounds_of_pyproject() -> None:
    """./scripts/test-lowest runs the suite with tests/lowest-versions.txt; a bound raised or added in
    pyproject.toml without it there would leave the bound untested."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["pdf"]]]
    pins = {}
    for line in (REPO / "tests" / "lowest-versions.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = Version(version)
    assert sorted(pins) == sorted(canonicalize_name(r.name) for r in wanted)
    for requirement in wanted:
        pin = pins[canonicalize_name(requirement.name)]
        (lower,) = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
        assert requirement.specifier.contains(pin), (requirement, pin)
        assert pin.release[:len(lower.release)] == lower.release, f"{requirement}: tested with {pin}"
