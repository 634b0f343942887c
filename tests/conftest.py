"""Session-wide lab servers: one real slapd and one real Knot for the whole run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.debian import ensure_lab_packages
from lab.knot import Knot, start_knot
from lab.slapd import Slapd, start_slapd


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ensure_lab_packages()
    return tmp_path_factory.mktemp("lab")


@pytest.fixture(scope="session")
def slapd(lab_root: Path) -> Iterator[Slapd]:
    server = start_slapd(lab_root / "ldap")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def knot_factory(lab_root: Path) -> Iterator[list[Knot]]:
    started: list[Knot] = []
    yield started
    for server in started:
        server.stop()


def new_knot(factory: list[Knot], root: Path, zones: dict[str, str], signed: set[str] | None = None) -> Knot:
    server = start_knot(root, zones, signed)
    factory.append(server)
    return server


@pytest.fixture(scope="session")
def hashing_slapd(lab_root: Path) -> Iterator[Slapd]:
    """A second slapd whose ppolicy hashes a cleartext userPassword in an add (``password_scheme: server-add``);
    started only by the tests that ask for it."""
    server = start_slapd(lab_root / "ldap-hashing", hash_cleartext=True)
    yield server
    server.stop()


def _env_with_own_base(server: Slapd, request: pytest.FixtureRequest) -> dict[str, str]:
    import re
    import uuid

    name = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:48] + "-" + uuid.uuid4().hex[:6]
    env = server.env()
    env["MAILPROV_BASE_DN"] = server.new_base(name)
    return env


@pytest.fixture
def ldap_env(slapd: Slapd, request: pytest.FixtureRequest) -> dict[str, str]:
    """MAILPROV_* variables for the session slapd, with an empty base DN of this test's own."""
    return _env_with_own_base(slapd, request)


@pytest.fixture
def hashing_env(hashing_slapd: Slapd, request: pytest.FixtureRequest) -> dict[str, str]:
    """The same for the slapd that hashes cleartext passwords."""
    return _env_with_own_base(hashing_slapd, request)
