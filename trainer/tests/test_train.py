"""The train command end to end as a child process: tiny model, progress protocol,
checkpoints, resume, idempotent rerun, stage 2 from stage-1 weights, error exit codes."""

import hashlib
import json
import os

import pytest

TINY = ["--tiny", "--batch-size", "4", "--lr", "3e-3", "--max-length", "512", "--save-steps", "2"]
PROGRESS_KEYS = {"step", "total_steps", "loss", "learning_rate", "tokens_per_second", "eta_seconds", "epoch"}


def _sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture(scope="module")
def stage1(cli, train_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("stage1") / "model"
    # "Interrupted" after 4 of its steps: --max-steps stops it right after checkpoint-4.
    res = cli("train", "--train", train_file, "--out", out, *TINY, "--max-steps", "4")
    return res, out


@pytest.fixture(scope="module")
def resumed(cli, train_file, stage1):
    _, out = stage1
    res = cli("train", "--train", train_file, "--out", out, *TINY, "--max-steps", "6")
    return res, out


def test_tiny_train_end_to_end(stage1, train_file, mwz_rows):
    res, out = stage1
    assert res.rc == 0, res
    kinds = [e["event"] for e in res.events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    progress = res.of("progress")
    assert [p["step"] for p in progress] == [1, 2, 3, 4]
    for p in progress:
        assert PROGRESS_KEYS <= set(p), p
        assert p["total_steps"] == 4
        assert p["loss"] > 0 and p["tokens_per_second"] > 0 and p["eta_seconds"] >= 0
    assert progress[-1]["loss"] < progress[0]["loss"]  # it learns something
    assert [c["step"] for c in res.of("checkpoint")] == [2, 4]
    assert [c["path"] for c in res.of("checkpoint")] == [str(out / "checkpoint-2"), str(out / "checkpoint-4")]
    done = res.of("done")[0]
    assert done["output"] == str(out) and done["global_step"] == 4 and done["train_loss"] > 0

    # Final model + tokenizer, loadable by from_pretrained.
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "training_args.json", "dst_trainer.json", "trainer_state.json"):
        assert (out / name).exists(), name
    for ckpt in ("checkpoint-2", "checkpoint-4"):
        for name in ("model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json"):
            assert (out / ckpt / name).exists(), (ckpt, name)

    targs = json.loads((out / "training_args.json").read_text())
    assert targs["seed"] == 42 and targs["cli"]["lr"] == 3e-3 and targs["cli"]["max_steps"] == 4
    assert targs["hf_training_arguments"]["learning_rate"] == 3e-3
    assert targs["hf_training_arguments"]["lr_scheduler_type"] == "cosine"
    assert targs["hf_training_arguments"]["seed"] == 42
    meta = json.loads((out / "dst_trainer.json").read_text())
    assert meta["completed"] is True and meta["global_step"] == 4
    assert meta["data"]["sha256"] == _sha256(train_file)
    assert meta["data"]["bytes"] == os.path.getsize(train_file)
    assert meta["data"]["lines_used"] == len(mwz_rows) == meta["data"]["examples"]
    assert meta["init"]["kind"] == "tiny" and meta["max_length"] == 512

    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 128
    assert tok.eos_token == "</s>" and tok.pad_token == "<pad>"


def test_rerun_resumes_from_newest_checkpoint(resumed):
    res, out = resumed
    assert res.rc == 0, res
    start = res.of("start")[0]
    assert start["step"] == 4 and start["total_steps"] == 6  # not from 0
    assert [p["step"] for p in res.of("progress")] == [5, 6]
    assert res.of("done")[0]["global_step"] == 6
    assert json.loads((out / "training_args.json").read_text())["resumed_from"] == str(out / "checkpoint-4")
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 6
    # save_total_limit=2 keeps the two newest checkpoints.
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-6"]


def test_rerun_of_a_finished_run_does_nothing(cli, train_file, resumed):
    _, out = resumed
    res = cli("train", "--train", train_file, "--out", out, *TINY, "--max-steps", "6")
    assert res.rc == 0, res
    assert [e["event"] for e in res.events] == ["done"]
    assert res.events[0]["already_complete"] is True and res.events[0]["global_step"] == 6


def test_killed_after_last_checkpoint_only_saves_the_final_model(cli, train_file, resumed):
    _, out = resumed
    meta_path = out / "dst_trainer.json"
    meta = json.loads(meta_path.read_text())
    meta["completed"] = False  # as if killed between checkpoint-6 and the final save
    meta_path.write_text(json.dumps(meta))
    (out / "model.safetensors").unlink()
    res = cli("train", "--train", train_file, "--out", out, *TINY, "--max-steps", "6")
    assert res.rc == 0, res
    assert [e["event"] for e in res.events] == ["start", "done"]  # no extra step past max_steps
    assert res.of("done")[0]["global_step"] == 6
    from safetensors.torch import load_file

    final, ckpt = load_file(out / "model.safetensors"), load_file(out / "checkpoint-6" / "model.safetensors")
    assert final.keys() == ckpt.keys() and all((final[k] == ckpt[k]).all() for k in final)
    assert json.loads(meta_path.read_text())["completed"] is True


def test_stage2_starts_from_stage1_weights(cli, train_file, stage1, resumed, tmp_path):
    res1, out1 = stage1
    out2 = tmp_path / "stage2"
    res = cli("train", "--train", train_file, "--out", out2, "--init", out1, "--batch-size", "4",
              "--max-length", "512", "--max-steps", "2", "--lr", "1e-4")
    assert res.rc == 0, res
    first1 = res1.of("progress")[0]["loss"]  # untrained tiny model on the first batch
    first2 = res.of("progress")[0]["loss"]   # stage-1 weights on the same first batch (same seed)
    assert first2 < first1 - 0.5, (first1, first2)
    assert (out2 / "tokenizer.json").read_text() == (out1 / "tokenizer.json").read_text()
    meta = json.loads((out2 / "dst_trainer.json").read_text())
    assert meta["init"]["kind"] == "pretrained" and meta["init"]["name"] == str(out1)
    assert meta["init"]["upstream"]["data"]["sha256"] == _sha256(train_file)
    assert (out2 / "model.safetensors").exists()


def test_errors_are_events_with_exit_codes(cli, train_file, tmp_path):
    missing = cli("train", "--train", tmp_path / "missing.jsonl", "--out", tmp_path / "o", "--tiny")
    assert missing.rc == 2 and missing.events == [missing.of("error")[0]]
    assert missing.events[0]["kind"] == "data" and "missing.jsonl" in missing.events[0]["message"]

    bad = tmp_path / "bad.jsonl"
    bad.write_text(open(train_file).readline() + "\n{oops\n")
    res = cli("train", "--train", bad, "--out", tmp_path / "o", "--tiny")
    assert res.rc == 2 and res.events[0]["kind"] == "data" and "bad.jsonl:3" in res.events[0]["message"]

    res = cli("train", "--train", train_file, "--out", tmp_path / "o", "--init", tmp_path / "no-such-model")
    assert res.rc == 2 and res.events[0]["kind"] == "config" and "no-such-model" in res.events[0]["message"]

    res = cli("train", "--train", train_file, "--out", tmp_path / "o", "--tiny", "--lr", "fast")
    assert res.rc == 2 and res.events[0]["kind"] == "config"
    res = cli("train", "--train", train_file, "--out", tmp_path / "o", "--tiny", "--init", "x")
    assert res.rc == 2 and res.events[0]["kind"] == "config"


def test_oom_and_other_failures_map_to_exit_codes(monkeypatch, capsys):
    import torch

    from dst_trainer import cli, train

    def boom(exc):
        def run(args):
            raise exc
        return run

    argv = ["train", "--train", "x.jsonl", "--out", "o", "--tiny"]
    for exc, kind, code in [
        (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), "oom", 3),
        (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes"), "oom", 3),
        (MemoryError(), "oom", 3),
        (RuntimeError("something broke"), "other", 1),
        (OSError(28, "No space left on device"), "disk", 4),
        (_chained(RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 41725085888 vs 4172"),
                  RuntimeError("basic_ios::clear: iostream error")), "disk", 4),
    ]:
        monkeypatch.setattr(train, "run", boom(exc))
        assert cli.main(argv, own_stdout=False) == code
        lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
        assert lines == [{"event": "error", "kind": kind, "message": lines[0]["message"], "rank": 0}]
        if kind == "disk":
            assert lines[0]["message"].startswith("writing failed, most likely a full disk (")
            assert "GiB free under" in lines[0]["message"]


def _chained(outer: BaseException, cause: BaseException) -> BaseException:
    """``outer`` raised while handling ``cause`` (how torch.save reports a full disk)."""
    try:
        try:
            raise cause
        except BaseException:
            raise outer
    except BaseException as e:
        return e


def test_two_processes_under_torchrun(train_file, tmp_path):
    """torchrun drives the Trainer's DDP (gloo on CPU); only rank 0 speaks and writes."""
    import subprocess
    import sys

    from conftest import TRAINER_DIR, CliResult

    out = tmp_path / "ddp"
    env = dict(os.environ, PYTHONPATH=str(TRAINER_DIR))
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "dst_trainer", "train", "--train", str(train_file), "--out", str(out), *TINY, "--max-steps", "2"],
        capture_output=True, text=True, env=env, timeout=300, cwd=TRAINER_DIR)
    res = CliResult(proc)
    assert res.rc == 0, res
    assert [e["event"] for e in res.events] == ["start", "progress", "progress", "checkpoint", "done"]
    targs = json.loads((out / "training_args.json").read_text())
    assert targs["resolved"]["world_size"] == 2
    assert targs["hf_training_arguments"]["per_device_train_batch_size"] == 4
    # 2 ranks x 4 examples per step: the epoch advances twice as fast as on one process.
    n = json.loads((out / "dst_trainer.json").read_text())["data"]["examples"]
    assert res.of("progress")[0]["epoch"] == pytest.approx(1 / -(-n // 8), abs=1e-3)
    assert (out / "model.safetensors").exists() and (out / "checkpoint-2" / "trainer_state.json").exists()


def test_init_from_a_local_model_dir_without_pad_token(cli, train_file, tiny_tokenizer, tmp_path):
    """--init with a plain from_pretrained directory (here a GPT-2 architecture whose
    tokenizer, like LLaMA-2's, has no pad token: training pads with unk)."""
    from tokenizers import Tokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    base = tmp_path / "base"
    raw = Tokenizer.from_str(tiny_tokenizer.backend_tokenizer.to_str())
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    assert tok.pad_token is None
    tok.save_pretrained(base)
    GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=1024, n_embd=64, n_layer=1, n_head=2,
                               bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)).save_pretrained(base)

    out = tmp_path / "ft"
    res = cli("train", "--train", train_file, "--out", out, "--init", base, "--batch-size", "4",
              "--max-length", "512", "--max-steps", "2", "--threads", "1")
    assert res.rc == 0, res
    assert res.of("done")[0]["global_step"] == 2
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model_type"] == "gpt2"
    assert json.loads((out / "tokenizer_config.json").read_text())["pad_token"] == "<unk>"


def test_a_checkpoint_cut_short_by_a_kill_is_skipped_and_resume_uses_the_newest_complete_one(cli, train_file,
                                                                                            tmp_path):
    """HF writes ``trainer_state.json`` last (after weights, optimizer, scheduler and RNG): a
    ``checkpoint-N`` folder without it is what a kill mid-save leaves. Resume must skip it
    (and remove it), not start from 0 nor load half a checkpoint."""
    out = tmp_path / "model"
    first = cli("train", "--train", train_file, "--out", out, *TINY, "--max-steps", "4")
    assert first.rc == 0, first
    (out / "checkpoint-4" / "trainer_state.json").unlink()
    (out / "checkpoint-4" / "optimizer.pt").unlink()
    meta = json.loads((out / "dst_trainer.json").read_text())
    meta["completed"] = False
    (out / "dst_trainer.json").write_text(json.dumps(meta))
    res = cli("train", "--train", train_file, "--out", out, *TINY, "--max-steps", "6")
    assert res.rc == 0, res
    assert res.of("start")[0]["step"] == 2
    assert [p["step"] for p in res.of("progress")] == [3, 4, 5, 6]
    assert json.loads((out / "training_args.json").read_text())["resumed_from"] == str(out / "checkpoint-2")
    assert (out / "checkpoint-6" / "trainer_state.json").exists()
