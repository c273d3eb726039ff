"""Fault (issue 17): the disk fills up while the trainer saves a checkpoint, on a real tmpfs.

The tiny model's first checkpoint is about 6 MB (2 MB weights, 4 MB optimizer state), so a
4 MB tmpfs fills during it. The run must exit 4 with one ``disk`` error event, report nothing
as done, and a rerun once there is room must complete.
"""

import json
import os
import subprocess

import pytest

TINY = ["--tiny", "--batch-size", "4", "--lr", "3e-3", "--max-length", "512", "--save-steps", "2"]


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True,
                       text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_during_a_checkpoint_exits_4_and_the_rerun_completes(cli, train_file, small_disk):
    out = small_disk / "model"
    res = cli("train", "--train", train_file, "--out", out, *TINY, "--max-steps", "4")
    assert res.rc == 4, res
    errors = res.of("error")
    assert len(errors) == 1 and errors[0]["kind"] == "disk", res
    assert errors[0]["message"].startswith("writing failed, most likely a full disk ("), res
    # Nothing reported as done: no done event, no final model, no checkpoint event.
    assert not res.of("done") and not res.of("checkpoint"), res
    assert not (out / "model.safetensors").exists()

    # Room again (a bigger disk in place, the half-written checkpoint left where it fell).
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    again = cli("train", "--train", train_file, "--out", out, *TINY, "--max-steps", "4")
    assert again.rc == 0, again
    done = again.of("done")
    assert len(done) == 1 and done[0]["global_step"] == 4, again
    assert [c["step"] for c in again.of("checkpoint")][-1] == 4
    meta = json.loads((out / "dst_trainer.json").read_text())
    assert meta["max_length"] == 512
    assert os.path.getsize(out / "model.safetensors") > 1_000_000
