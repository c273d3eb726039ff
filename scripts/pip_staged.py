#!/usr/bin/env python3
"""Install requirement files with the least free disk: one large binary wheel at a time.

PyPI's default Linux torch wheel pulls about 3 GB of CUDA wheels (5.8 GiB installed, measured). One plain
`pip install` downloads every wheel first and unpacks them after, so it needs the downloads and
the installed files at once (and, with pip's cache, a third copy). Here pip first resolves
without downloading (`--dry-run --report`), then installs each platform wheel of that plan alone
(`--no-deps`, pinned to the resolved version) so at most one of them waits on disk, and finally
runs the plain install, which finds them present and adds the small pure-Python rest. Run with
`PIP_NO_CACHE_DIR=1` so nothing is kept twice.

Idempotent: the dry run lists only what is missing, so a rerun after an interruption (a full disk,
a dropped connection) installs only the rest.

Usage: pip_staged.py -r requirements.txt [-r other.txt ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]


def planned(req_args: list[str]) -> list[tuple[str, str, str]]:
    """(name, version, wheel file name) for each package pip would install, in pip's order."""
    with tempfile.TemporaryDirectory(prefix="dst-synth-pip-") as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run([*PIP, "install", "--quiet", "--dry-run", "--report", str(report), *req_args], check=True)
        items = json.loads(report.read_text()).get("install", [])
    return [
        (i["metadata"]["name"], i["metadata"]["version"], i["download_info"]["url"].rsplit("/", 1)[-1])
        for i in items
    ]


def is_platform_wheel(filename: str) -> bool:
    """Wheels with native code are the large ones; pure-Python wheels end in none-any."""
    return filename.endswith(".whl") and not filename.endswith("-none-any.whl")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    plan = planned(argv)
    heavy = [(n, v) for n, v, f in plan if is_platform_wheel(f)]
    for i, (name, version) in enumerate(heavy, 1):
        print(f"setup: python package {i}/{len(heavy)}: {name}=={version}", flush=True)
        subprocess.run([*PIP, "install", "--quiet", "--no-deps", f"{name}=={version}"], check=True)
    if plan:
        subprocess.run([*PIP, "install", "--quiet", *argv], check=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except subprocess.CalledProcessError as err:
        print(f"setup: pip failed (exit {err.returncode}); rerun the set-up to install the rest", file=sys.stderr)
        sys.exit(1)
