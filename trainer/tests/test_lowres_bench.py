"""``bench/dst-cpu.sh --lowres`` end to end at tiny sizes: the review fixture's generated set, real
subsets per seed, stage 1 then stage 2, prediction and scoring by ``dst-synth eval``."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GENERATED = REPO / "tests/fixtures/review/sim"

pytestmark = pytest.mark.skipif(shutil.which("npx") is None, reason="needs node (dst-synth eval)")


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("lowres")
    cmd = ["bash", str(REPO / "bench/dst-cpu.sh"), "--lowres", "--generated", str(GENERATED),
           "--generated-limit", "2", "--tiny", "--ks", "4", "--seeds", "1,2", "--test", "2",
           "--replace-domain", "restaurant", "--epochs-real", "1", "--epochs-gen", "1",
           "--threads", "1", "--max-new-tokens", "16", "--work", str(work)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return work


def test_every_model_trained_and_scored(bench: Path) -> None:
    res = json.loads((bench / "results.json").read_text())
    assert res["seeds"] == [1, 2] and res["generated_dialogues"] == 2
    rows = res["k"]["k4"] + res["replace"]["k4-no-restaurant"]
    assert len(rows) == 4
    turns = {r[m]["turns"] for r in rows for m in ("real", "two_stage")}
    assert len(turns) == 1  # every model on the same test turns
    for r in rows:
        assert r["real"]["missingPredictions"] == 0 and r["two_stage"]["missingPredictions"] == 0


def test_stage_two_starts_from_stage_one_of_its_seed(bench: Path) -> None:
    for s in (1, 2):
        meta = json.loads((bench / f"two-k4-s{s}/dst_trainer.json").read_text())
        assert meta["init"]["name"] == str(bench / f"stage1-s{s}")
        assert meta["init"]["upstream"]["data"]["dialogues"] == 2
        base = json.loads((bench / f"real-k4-s{s}/dst_trainer.json").read_text())
        assert base["init"]["kind"] == "tiny"


def test_seeds_draw_different_real_subsets_and_replacement_drops_the_domain(bench: Path) -> None:
    def ids(name: str) -> set[str]:
        return {json.loads(x)["dialogue_id"] for x in (bench / name).read_text().splitlines()}

    assert len(ids("real-k4-s1.jsonl")) == 4 and ids("real-k4-s1.jsonl") != ids("real-k4-s2.jsonl")
    for s in (1, 2):
        dropped = bench / f"real-k4-no-restaurant-s{s}.jsonl"
        assert ids(dropped.name) <= ids(f"real-k4-s{s}.jsonl")
        for line in dropped.read_text().splitlines():
            assert not any(k.startswith("restaurant-") for k in json.loads(line)["state"])


def test_table_shows_mean_sd_and_paired_differences(bench: Path) -> None:
    res = json.loads((bench / "results.json").read_text())
    rows = res["k"]["k4"]
    diffs = [r["two_stage"]["jga"] - r["real"]["jga"] for r in rows]
    table = (bench / "table.txt").read_text()
    line = next(x for x in table.splitlines() if x.startswith("k4 |"))
    assert f"s1 {100 * diffs[0]:+.1f}" in line and f"s2 {100 * diffs[1]:+.1f}" in line
    assert f"{100 * statistics.mean(diffs):5.1f} ± {100 * statistics.stdev(diffs):4.1f}" in line
    assert "k4-no-restaurant (restaurant JGA)" in table
