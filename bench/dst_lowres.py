#!/usr/bin/env python3
"""The paper's low-resource experiment at CPU scale (issue 16 §2), run by ``bench/dst-cpu.sh --lowres``.

For each seed s and each k in --ks: k real dialogues (the first k of a seeded shuffle of the
real pool, so the k=50 set is inside the k=200 set of the same seed) train a DST model from
the base model (``real only``) and from the stage-1 model of seed s, which was trained on the
generated dialogues (``two-stage``). Every model is scored on the same test turns (the first
--test dialogues of the 2.1 test split, convention trade). Printed: mean ± sd over seeds per k,
and the paired difference (two-stage − real only) per seed, which cancels the variance of the
real subset. With --replace-domain D, one more row per seed: the largest k with every dialogue
that touches D removed, real only and two-stage, scored on D's test turns (JGA of D) — how
much of D the generated data alone teaches.

Training is by epochs (--epochs-real, --epochs-gen), so every seed sees the same number of
steps whatever the machine's load; --budget (minutes) only caps a run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def find_multiwoz() -> str:
    """Same search order as multiwoz/paths.ts: $MULTIWOZ_DIR, ../shared next to the repo, /work/shared."""
    for cand in (os.environ.get("MULTIWOZ_DIR"), REPO.parent / "shared/data/multiwoz", "/work/shared/data/multiwoz"):
        if cand and (Path(cand) / "2.1/test.json.zip").exists():
            return str(cand)
    return str(REPO.parent / "shared/data/multiwoz")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/dst-cpu.sh --lowres", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--generated", required=True, help="exported generation (data.json or 2.2 layout)")
    p.add_argument("--generated-limit", type=int, default=0, help="first N generated dialogues (0: all)")
    p.add_argument("--ks", default="50,200", help="real training dialogues per model, comma list")
    p.add_argument("--seeds", default="1,2,3", help="seeds (real subset, training), comma list")
    p.add_argument("--test", type=int, default=100, help="first N dialogues of the 2.1 test split")
    p.add_argument("--pool", default="", help="real pool (default: the 2.1 dev split, val.json.zip)")
    p.add_argument("--replace-domain", default="hotel", help="domain of the replacement row ('' = none)")
    p.add_argument("--epochs-real", type=float, default=2.0)
    p.add_argument("--epochs-gen", type=float, default=1.0)
    p.add_argument("--budget", type=float, default=60.0, help="cap per training, minutes")
    p.add_argument("--init", default=str(REPO / ".venv/models/smollm2-135m-instruct-q4_1.gguf"))
    p.add_argument("--tiny", action="store_true", help="a tiny random model instead of --init (CI)")
    p.add_argument("--trainer-flags", default="", help="trainer set-up, space-separated (dst-cpu.sh passes its own)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--work", default="", help="work folder (default: $TMPDIR/dst-lowres-<time>)")
    p.add_argument("--python", default=os.environ.get("DST_SYNTH_PYTHON", str(REPO / ".venv/bin/python")))
    p.add_argument("--multiwoz", default=find_multiwoz(), help="MultiWOZ folder (default: as multiwoz/paths.ts)")
    a = p.parse_args(argv)
    for name in ("generated", "pool", "init", "work", "multiwoz"):  # the trainer runs in trainer/
        if getattr(a, name):
            setattr(a, name, str(Path(getattr(a, name)).resolve()))
    return a


class Bench:
    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        self.work = Path(a.work or Path(os.environ.get("TMPDIR", "/tmp")) / f"dst-lowres-{stamp}")
        self.work.mkdir(parents=True, exist_ok=True)
        self.minutes: dict[str, float] = {}

    def trainer(self, *args: str, log: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO / "trainer")}
        with open(self.work / f"{log}.log", "a") as err, open(self.work / f"{log}.events.jsonl", "a") as out:
            r = subprocess.run([self.a.python, "-m", "dst_trainer", *args], cwd=REPO / "trainer",
                               env=env, stdout=out, stderr=err)
        if r.returncode != 0:
            tail = (self.work / f"{log}.events.jsonl").read_text().splitlines()[-5:]
            sys.exit(f"{log} failed (exit {r.returncode}), see {self.work / log}.log:\n" + "\n".join(tail))

    def convert(self, src: Path, out: Path, limit: int = 0) -> None:
        kind = "convert-multiwoz22" if src.is_dir() and not (src / "data.json").exists() else "convert-multiwoz21"
        if src.is_dir() and (src / "data.json").exists():
            src = src / "data.json"
        self.trainer(kind, "--input", str(src), "--out", str(out), *(["--limit", str(limit)] if limit else []),
                     log="convert")

    def train(self, name: str, data: Path, init: str | None, epochs: float, seed: int) -> Path:
        out = self.work / name
        if (out / "dst_trainer.json").exists():  # a rerun with the same --work skips finished models
            return out
        base = ["--tiny"] if init is None else ["--init", init]
        t0 = time.monotonic()
        self.trainer("train", "--train", str(data), "--out", str(out), *base, *self.a.trainer_flags.split(),
                     "--epochs", str(epochs), "--seed", str(seed), "--threads", str(self.a.threads),
                     "--time-budget", f"{int(self.a.budget * 60)}s", log=name)
        self.minutes[name] = (time.monotonic() - t0) / 60
        return out

    def score(self, name: str) -> dict:
        path = self.work / f"{name}.score.json"
        if not path.exists():
            preds = self.work / f"{name}.preds.jsonl"
            self.trainer("predict", "--model", str(self.work / name), "--input", str(self.work / "test.jsonl"),
                         "--out", str(preds), "--batch-size", "16", "--max-new-tokens", str(self.a.max_new_tokens),
                         "--threads", str(self.a.threads), log=name)
            r = subprocess.run(["npx", "--no-install", "dst-synth", "eval", "--convention", "trade", "--gold",
                                str(self.work / "test-gold.json"), "--split", "test", "--pred", str(preds),
                                "--json"], cwd=REPO, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"scoring {name} failed: {r.stderr.strip()}")
            path.write_text(r.stdout)
        return json.loads(path.read_text())


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def by_dialogue(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["dialogue_id"], []).append(r)
    return out


def touches(examples: list[dict], domain: str) -> bool:
    return any(slot.split("-", 1)[0] == domain for e in examples for slot in e.get("state", {}))


def mean_sd(xs: list[float]) -> str:
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{100 * statistics.mean(xs):5.1f} ± {100 * sd:4.1f}"


def test_gold(zip_path: Path, n: int, out: Path) -> None:
    z = zipfile.ZipFile(zip_path)
    name = next(x for x in z.namelist() if x.endswith(".json"))
    data = json.loads(z.read(name))
    out.write_text(json.dumps({k: data[k] for k in list(data)[:n]}))


def prepare(b: Bench) -> tuple[dict[str, list[dict]], int]:
    a, w = b.a, b.work
    mwz = Path(a.multiwoz)
    pool_src = Path(a.pool) if a.pool else mwz / "2.1/val.json.zip"
    for src in (pool_src, mwz / "2.1/test.json.zip", Path(a.generated)):
        if not src.exists():
            sys.exit(f"not found: {src}")
    if not (w / "pool.jsonl").exists():
        b.convert(pool_src, w / "pool.jsonl")
        b.convert(mwz / "2.1/test.json.zip", w / "test.jsonl", a.test)
        test_gold(mwz / "2.1/test.json.zip", a.test, w / "test-gold.json")
        b.convert(Path(a.generated), w / "generated.jsonl", a.generated_limit)
    gen = by_dialogue(read_jsonl(w / "generated.jsonl"))
    if not gen:
        sys.exit(f"no dialogues found in {a.generated}")
    return by_dialogue(read_jsonl(w / "pool.jsonl")), len(gen)


def subset(pool: dict[str, list[dict]], seed: int, k: int, drop: str = "") -> list[dict]:
    ids = sorted(pool)
    random.Random(seed).shuffle(ids)
    chosen = [i for i in ids[:k] if not (drop and touches(pool[i], drop))]
    return [e for i in chosen for e in pool[i]]


def run(a: argparse.Namespace) -> dict:
    b = Bench(a)
    print(f"work folder: {b.work}", flush=True)
    pool, n_gen = prepare(b)
    ks = [int(k) for k in a.ks.split(",")]
    seeds = [int(s) for s in a.seeds.split(",")]
    if max(ks) > len(pool):
        sys.exit(f"--ks {max(ks)} is more than the {len(pool)} dialogues of the real pool")
    init = None if a.tiny else a.init
    gen_data = b.work / "generated.jsonl"
    results: dict = {"k": {}, "replace": {}, "generated_dialogues": n_gen, "seeds": seeds}
    dom = a.replace_domain
    for s in seeds:
        print(f"seed {s}: stage 1 on {n_gen} generated dialogues", flush=True)
        stage1 = str(b.train(f"stage1-s{s}", gen_data, init, a.epochs_gen, s))
        runs = [(f"k{k}", k, "") for k in ks] + ([(f"k{max(ks)}-no-{dom}", max(ks), dom)] if dom else [])
        for label, k, drop in runs:
            data = b.work / f"real-{label}-s{s}.jsonl"
            write_jsonl(data, subset(pool, s, k, drop))
            n = len(by_dialogue(read_jsonl(data)))
            print(f"seed {s}, {label}: {n} real dialogues — real only, then two-stage", flush=True)
            base = b.score(b.train(f"real-{label}-s{s}", data, init, a.epochs_real, s).name)
            two = b.score(b.train(f"two-{label}-s{s}", data, stage1, a.epochs_real, s).name)
            slot = results["replace"] if drop else results["k"]
            slot.setdefault(label, []).append({"seed": s, "real_dialogues": n, "real": base, "two_stage": two})
    results["minutes"] = b.minutes
    (b.work / "results.json").write_text(json.dumps(results, indent=1))
    table = render(results, a, dom)
    (b.work / "table.txt").write_text(table)
    print(table)
    return results


def jga(score: dict, domain: str = "") -> float:
    if not domain:
        return score["jga"]
    if domain not in score["perDomain"]:
        sys.exit(f"the test sample has no {domain} turns: raise --test or pick another --replace-domain")
    return score["perDomain"][domain]["jga"]


def render(res: dict, a: argparse.Namespace, dom: str) -> str:
    lines = [f"MultiWOZ 2.1 test: first {a.test} dialogues, convention trade; stage 1 on "
             f"{res['generated_dialogues']} generated dialogues; seeds {a.seeds}; "
             f"epochs real {a.epochs_real}, generated {a.epochs_gen}; base "
             f"{'tiny random model' if a.tiny else Path(a.init).name}",
             "k real | real only JGA % (mean ± sd) | two-stage JGA % | paired diff per seed (pp) | diff mean ± sd"]
    for label, rows in res["k"].items():
        lines.append(row(label, rows, ""))
    for label, rows in res["replace"].items():
        lines.append(row(f"{label} ({dom} JGA)", rows, dom))
    mins = res["minutes"]
    if mins:
        lines.append(f"training minutes per model (wall, loading included): mean {statistics.mean(mins.values()):.1f}, "
                     f"max {max(mins.values()):.1f}; load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    return "\n".join(lines) + "\n"


def row(label: str, rows: list[dict], dom: str) -> str:
    real = [jga(r["real"], dom) for r in rows]
    two = [jga(r["two_stage"], dom) for r in rows]
    diffs = [t - r for t, r in zip(two, real)]
    per_seed = ", ".join(f"s{r['seed']} {100 * d:+.1f}" for r, d in zip(rows, diffs))
    return f"{label} | {mean_sd(real)} | {mean_sd(two)} | {per_seed} | {mean_sd(diffs)}"


if __name__ == "__main__":
    run(parse(sys.argv[1:]))
