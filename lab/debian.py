"""Install the Debian packages the lab servers come from, when they are missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

#: binary that must exist -> Debian package providing it
LAB_BINARIES = {
    "/usr/sbin/slapd": "slapd",
    "/usr/bin/ldapadd": "ldap-utils",
    "/usr/sbin/knotd": "knot",
    "/usr/bin/kdig": "knot-dnsutils",
}


def missing_packages(binaries: dict[str, str]) -> list[str]:
    return sorted({pkg for path, pkg in binaries.items() if not os.path.exists(path)})


def apt_install(packages: list[str]) -> None:
    """``apt-get install`` as root, or through ``sudo -n`` when not root.

    The package scripts must not start the system's own slapd/knotd (the lab
    runs its own on high ports), so installs run with RUNLEVEL=1 and the
    policy-rc.d convention honoured by invoke-rc.d.
    """
    if not packages:
        return
    prefix: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            sys.exit(f"lab: missing Debian packages {' '.join(packages)} and not root; "
                     f"install them with: apt-get install {' '.join(packages)}")
        prefix = ["sudo", "-n", "--preserve-env=DEBIAN_FRONTEND,RUNLEVEL"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", RUNLEVEL="1")
    cmd = [*prefix, "apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    print(f"lab: installing {' '.join(packages)}", file=sys.stderr, flush=True)
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=False).returncode != 0:
        # a fresh image has empty package lists
        subprocess.run([*prefix, "apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL, check=True)
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)


def not_installed(packages: list[str]) -> list[str]:
    """The packages of ``packages`` that dpkg does not list as installed."""
    result = []
    for pkg in packages:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True, check=False)
        if "install ok installed" not in out.stdout:
            result.append(pkg)
    return result


def ensure_lab_packages() -> None:
    apt_install(missing_packages(LAB_BINARIES))


if __name__ == "__main__":
    # extra packages named on the command line (PDF, browser tests) join the lab's
    apt_install(sorted(set(missing_packages(LAB_BINARIES)) | set(not_installed(sys.argv[1:]))))
