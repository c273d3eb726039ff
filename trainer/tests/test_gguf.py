"""--init FILE.gguf: SmolLM2-135M-Instruct (Q4_1) is de-quantised on load, fully fine-tuned,
saved as an ordinary model (no quantization marks), and predicts with --prompt short.

The model file is installed by scripts/setup.sh at .venv/models/; DST_SYNTH_SMOLLM_GGUF
overrides. The test fails (it does not skip) when the file is missing: CI must have it."""

import json
import os
import shutil

import pytest

from conftest import REPO_ROOT

CANDIDATES = (
    os.environ.get("DST_SYNTH_SMOLLM_GGUF"),
    str(REPO_ROOT / ".venv/models/smollm2-135m-instruct-q4_1.gguf"),
    "/tmp/models/SmolLM2-135M-Instruct.Q4_1.gguf",
)


@pytest.fixture(scope="module")
def smollm_gguf() -> str:
    for cand in CANDIDATES:
        if cand and os.path.isfile(cand):
            return cand
    pytest.fail("SmolLM2-135M-Instruct GGUF not found (scripts/setup.sh installs it at "
                ".venv/models/smollm2-135m-instruct-q4_1.gguf; or set DST_SYNTH_SMOLLM_GGUF)")


def test_gguf_init_full_fine_tuning_and_short_prediction(cli, smollm_gguf, mwz_rows, tmp_path):
    rows = mwz_rows[:6]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "model"
    res = cli("train", "--train", train, "--out", out, "--init", smollm_gguf, "--prompt", "short",
              "--target", "update", "--batch-size", "2", "--lr", "1e-4", "--max-length", "192",
              "--max-steps", "1", "--save-steps", "1000", "--threads", "1", timeout=900)
    assert res.rc == 0, res
    assert res.of("done")[0]["global_step"] == 1 and res.of("progress")[0]["loss"] > 0
    meta = json.loads((out / "dst_trainer.json").read_text())
    assert meta["init"] == {"kind": "gguf", "name": smollm_gguf}
    assert meta["format"] == {"prompt": "short", "target": "update"}
    assert meta["model"]["trainable_parameters"] == meta["model"]["parameters"] > 100_000_000  # full fine-tuning
    config = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in config and config["model_type"] == "llama"
    assert (out / "tokenizer.json").exists() and (out / "model.safetensors").exists()

    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "state"}) + "\n" for r in rows[:4]))
    res = cli("predict", "--model", out, "--input", inp, "--out", tmp_path / "p.jsonl", "--max-new-tokens", "8",
              "--batch-size", "4", "--threads", "1", timeout=600)
    assert res.rc == 0, res
    lines = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [(x["dialogue_id"], x["turn"]) for x in lines] == [(r["dialogue_id"], r["turn"]) for r in rows[:4]]
    assert all(isinstance(x["state"], dict) for x in lines)
    # The model and its resumable checkpoint (Adam state) are 2.1 GB: not kept in pytest's temp dirs.
    shutil.rmtree(out)


def test_missing_gguf_is_a_config_error(cli, train_file, tmp_path):
    res = cli("train", "--train", train_file, "--out", tmp_path / "m", "--init", tmp_path / "nope.gguf")
    assert res.rc == 2 and res.of("error")[0]["kind"] == "config" and ".gguf" in res.of("error")[0]["message"]
