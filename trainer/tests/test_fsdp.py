"""--fsdp: FSDP2 through the HF Trainer/accelerate, run for real on CPU (gloo, 2 processes under
torchrun, the tiny model): it learns, a run killed after a checkpoint resumes from it (sharded
checkpoints), the full-state-dict format, and the saved model predicts. Plus the fsdp_config
the trainer builds, and its argument checks."""

import json
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from conftest import TRAINER_DIR, CliResult

TINY = ["--tiny", "--batch-size", "4", "--lr", "3e-3", "--max-length", "512", "--save-steps", "2"]


def torchrun(*args):
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
            "-m", "dst_trainer", "train", *map(str, args)]


def env():
    return dict(os.environ, PYTHONPATH=str(TRAINER_DIR), OMP_NUM_THREADS="1")


def run(*args, timeout=240):
    proc = subprocess.run(torchrun(*args), capture_output=True, text=True, env=env(), timeout=timeout,
                          cwd=TRAINER_DIR)
    return CliResult(proc)


def kill_tree(pid):
    """SIGKILL torchrun and its workers (which torchrun starts in sessions of their own), then
    wait until they are gone: a worker left alive would go on writing checkpoints beside the
    resumed run."""
    def children(p):
        # Every thread's list: a child started from another thread is not in the main thread's.
        kids = []
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            return kids
        for tid in tids:
            try:
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    kids += [int(c) for c in fh.read().split()]
            except OSError:
                pass
        return kids

    def descendants(p):
        return [d for k in children(p) for d in (k, *descendants(k))]

    tree = [*descendants(pid), pid]
    for p in tree:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(alive(p) for p in tree if p != pid):
        time.sleep(0.1)


def alive(pid):
    """True while ``pid`` runs (a zombie, killed but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_fsdp_config_wraps_the_decoder_layer(tiny_tokenizer):
    from dst_trainer.errors import ConfigError
    from dst_trainer.fsdp import fsdp_config, parse_fsdp
    from dst_trainer.tiny import build_model

    model = build_model(tiny_tokenizer, 512, 1)
    args = SimpleNamespace(fsdp="full_shard", fsdp_state_dict="sharded", gradient_checkpointing=True,
                           fsdp_config=None)
    assert fsdp_config(args, model) == {
        "version": 2, "reshard_after_forward": True, "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
        "transformer_layer_cls_to_wrap": ["LlamaDecoderLayer"], "state_dict_type": "SHARDED_STATE_DICT",
        "activation_checkpointing": True, "cpu_offload": False}
    args.fsdp, args.fsdp_state_dict, args.fsdp_config = "shard_grad_op offload", "full", '{"fsdp_min_num_params": 5}'
    cfg = fsdp_config(args, model)
    assert cfg["reshard_after_forward"] is False and cfg["cpu_offload"] is True
    assert cfg["state_dict_type"] == "FULL_STATE_DICT" and cfg["min_num_params"] == 5
    assert parse_fsdp("full_shard auto_wrap") == {"strategy": "full_shard", "offload": False}
    assert parse_fsdp("") == {}
    for bad in ("hybrid_shard", "full_shard shard_grad_op"):
        with pytest.raises(ConfigError):
            parse_fsdp(bad)


def test_a_multi_process_checkpoint_is_complete_only_once_every_rank_saved(tmp_path):
    """A kill between rank 0's trainer_state.json and rank 1's RNG file left an empty
    rng_state_1.pth; resuming from it killed rank 1 (EOFError). Such a checkpoint is skipped."""
    from dst_trainer.checkpoints import find_checkpoints, mark_complete

    def checkpoint(step, *files):
        d = tmp_path / f"checkpoint-{step}"
        d.mkdir()
        (d / "trainer_state.json").write_text("{}")
        for f in files:
            (d / f).write_bytes(b"x")
        return d

    checkpoint(1, "rng_state.pth")  # one process: trainer_state.json is written last
    two = checkpoint(2, "rng_state_0.pth", "rng_state_1.pth")
    checkpoint(3, "rng_state_0.pth")  # killed before rank 1 wrote its file
    assert [s for s, _ in find_checkpoints(str(tmp_path))] == [1]
    mark_complete(str(two))
    assert [s for s, _ in find_checkpoints(str(tmp_path))] == [1, 2]


def test_fsdp_in_one_process_is_a_config_error(cli, train_file, tmp_path):
    res = cli("train", "--train", train_file, "--out", tmp_path / "m", *TINY, "--fsdp", "full_shard")
    assert res.rc == 2, res
    assert res.of("error")[0]["kind"] == "config" and "torchrun" in res.of("error")[0]["message"]
    res = cli("train", "--train", train_file, "--out", tmp_path / "m", *TINY, "--fsdp", "full_shard", "--lora")
    assert res.rc == 2 and "--lora" in res.of("error")[0]["message"], res


def test_fsdp_on_two_cpu_processes_learns_resumes_after_a_kill_and_predicts(train_file, mwz_rows, tmp_path):
    from dst_trainer.checkpoints import find_checkpoints

    out = tmp_path / "fsdp"
    flags = ["--train", train_file, "--out", out, *TINY, "--fsdp", "full_shard", "--fsdp-state-dict", "sharded",
             "--gradient-checkpointing", "--max-steps", "8"]
    # Killed (SIGKILL: torchrun and both workers) once its first checkpoint is announced.
    proc = subprocess.Popen(torchrun(*flags), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env(), cwd=TRAINER_DIR)
    first = []
    try:
        for line in proc.stdout:
            first.append(json.loads(line))
            if first[-1]["event"] == "checkpoint":
                kill_tree(proc.pid)
                break
    finally:
        proc.wait(timeout=60)
    assert first[-1]["event"] == "checkpoint" and first[-1]["step"] == 2, first
    losses = [e["loss"] for e in first if e["event"] == "progress"]
    assert first[0]["world_size"] == 2 and len(losses) >= 2

    targs = json.loads((out / "training_args.json").read_text())
    hf = targs["hf_training_arguments"]
    assert hf["fsdp"] is True and hf["fsdp_config"]["transformer_layer_cls_to_wrap"] == ["LlamaDecoderLayer"]
    assert hf["fsdp_config"]["activation_checkpointing"] is True and hf["activation_checkpointing"] is False
    # Really sharded: one file per rank, no gathered weights in the checkpoint.
    ckpt = out / "checkpoint-2"
    assert sorted(os.listdir(ckpt / "pytorch_model_fsdp_0")) == [".metadata", "__0_0.distcp", "__1_0.distcp"]
    assert sorted(os.listdir(ckpt / "optimizer_0")) == [".metadata", "__0_0.distcp", "__1_0.distcp"]
    assert not (ckpt / "model.safetensors").exists()
    assert (ckpt / "dst_trainer_complete").exists()  # marked once both ranks had saved

    newest = find_checkpoints(str(out))[-1][0]  # the kill may have come after a later checkpoint
    res = run(*flags)
    assert res.rc == 0, res
    start = res.of("start")[0]
    assert start["step"] == newest >= 2 and start["resumed_from"] == str(out / f"checkpoint-{newest}")
    progress = res.of("progress")
    assert [p["step"] for p in progress] == list(range(newest + 1, 9))
    assert res.of("done")[0]["global_step"] == 8
    assert progress[-1]["loss"] < losses[0]  # it learns: ~6.9 at step 1, ~5 by step 8
    meta = json.loads((out / "dst_trainer.json").read_text())
    assert meta["completed"] is True and meta["precision"]["fsdp"]["state_dict_type"] == "SHARDED_STATE_DICT"

    # The final model is a full one (not sharded): predict loads and runs it in one process.
    test = tmp_path / "test.jsonl"
    test.write_text("".join(json.dumps(r) + "\n" for r in mwz_rows[:8]))
    preds = tmp_path / "preds.jsonl"
    proc = subprocess.run([sys.executable, "-m", "dst_trainer", "predict", "--model", str(out), "--input", str(test),
                           "--out", str(preds), "--batch-size", "8", "--max-new-tokens", "16"],
                          capture_output=True, text=True, env=env(), timeout=120, cwd=TRAINER_DIR)
    pred = CliResult(proc)
    assert pred.rc == 0, pred
    lines = [json.loads(l) for l in preds.read_text().splitlines()]
    assert [(p["dialogue_id"], p["turn"]) for p in lines] == [(r["dialogue_id"], r["turn"]) for r in mwz_rows[:8]]


def test_fsdp_full_state_dict_checkpoints(train_file, tmp_path):
    out = tmp_path / "full"
    res = run("--train", train_file, "--out", out, *TINY, "--fsdp", "full_shard auto_wrap", "--max-steps", "2")
    assert res.rc == 0, res
    ckpt = out / "checkpoint-2"
    for name in ("model.safetensors", "pytorch_model_fsdp.bin", "optimizer.bin", "trainer_state.json"):
        assert (ckpt / name).exists(), name
    assert (out / "model.safetensors").exists()
