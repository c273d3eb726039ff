#!/usr/bin/env bash
# The paper's DST model on one GPU, measured without its weights: the trainer
# (python -m dst_trainer train) on CUDA with a randomly initialised model of
# LLaMA-2-7B's shape (--tiny --tiny-shape llama2-7b), full fine-tuning in bf16
# with gradient checkpointing, on real MultiWOZ 2.1 examples with the paper's
# prompt (whole history) and sequence length (1024). Prints tokens/s, peak GPU
# memory and the estimated hours of the paper's two stages, and writes
# summary.json.
#
#   bash bench/gpu-llama2-7b.sh [TRAIN_JSONL] [OUT_DIR]
#
# TRAIN_JSONL: trainer examples (default .tmp/gpu-bench/val.jsonl, made here by
#   python -m dst_trainer convert-multiwoz21 --input <2.1 val.json.zip> --out ...)
# Needs a CUDA GPU with ~120 GB for float32 master weights (it falls back to
# bfloat16 weights on out-of-memory), torch, transformers, accelerate.
# Env: STEPS (optimizer steps per run, default 30), BATCH (per device, 4),
#      RUN_LIMIT (seconds per run, 240), SHAPE (llama2-7b; tiny = CPU dry run).
set -uo pipefail
cd "$(dirname "$0")/.."
TRAIN=${1:-.tmp/gpu-bench/val.jsonl}
OUT=${2:-${OUT:-.tmp/gpu-bench/out}}
STEPS=${STEPS:-30}
BATCH=${BATCH:-4}
RUN_LIMIT=${RUN_LIMIT:-240}
SHAPE=${SHAPE:-llama2-7b} # tiny: a CPU dry run of this script
WORK=${WORK:-/tmp/dst-gpu-bench}
PY=${PY:-$(command -v python3 || command -v python)}
export PYTHONPATH="$PWD/trainer${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT" "$WORK"

{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  "$PY" -c 'import torch, transformers, accelerate; print("torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__, "accelerate", accelerate.__version__)'
} 2>&1 | tee "$OUT/environment.txt"

# $1: label, rest: extra trainer flags. Events → $OUT/<label>.events.jsonl
train() {
  local label=$1
  shift
  rm -rf "$WORK/$label"
  echo "== $label: $STEPS steps, batch $BATCH, $*"
  timeout "$RUN_LIMIT" "$PY" -m dst_trainer train --train "$TRAIN" --out "$WORK/$label" \
    --tiny --tiny-shape "$SHAPE" --prompt full --target json --max-length 1024 \
    --bf16 true --gradient-checkpointing --batch-size "$BATCH" --grad-accum 1 \
    --lr 2e-5 --max-steps "$STEPS" --save-steps 100000 --logging-steps 1 "$@" \
    >"$OUT/$label.events.jsonl" 2>"$OUT/$label.stderr.log"
  local rc=$?
  echo "   exit $rc; $(tail -n 1 "$OUT/$label.events.jsonl" | cut -c1-300)"
  cp "$WORK/$label/dst_trainer.json" "$OUT/$label.meta.json" 2>/dev/null
  rm -rf "$WORK/$label" # the saved 7B weights (13-27 GB) are not needed
  return $rc
}

# Standard mixed precision first (float32 master weights + bf16 autocast), then
# pure bfloat16 weights: measured both when the first fits, since they differ
# in memory by about half.
train fp32-master
rc_fp32=$?
train bf16-weights --dtype bfloat16
rc_bf16=$?

# torchrun path on the GPU, one process, the tiny model (seconds).
echo "== torchrun smoke (tiny model, 1 process)"
rm -rf "$WORK/torchrun"
head -n 200 "$TRAIN" >"$WORK/small.jsonl"
timeout 120 "$PY" -m torch.distributed.run --standalone --nproc_per_node 1 -m dst_trainer train \
  --train "$WORK/small.jsonl" --out "$WORK/torchrun" --tiny --max-steps 5 --batch-size 4 --bf16 true \
  >"$OUT/torchrun.events.jsonl" 2>"$OUT/torchrun.stderr.log"
echo "   exit $?; $(tail -n 1 "$OUT/torchrun.events.jsonl" | cut -c1-300)"

"$PY" - "$OUT" "$TRAIN" "$rc_fp32" "$rc_bf16" <<'EOF'
import json, os, sys
out, train, rc_fp32, rc_bf16 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
# The paper's two stages, one epoch each: 7,556 generated dialogues, then the real
# MultiWOZ training split (2.1/2.2: 8,420 dialogues, 56,668 user turns). One example
# per user turn; generated dialogues are assumed to have the real turns/dialogue ratio
# of the examples measured here.
REAL_TRAIN_TURNS = 56668
GENERATED_DIALOGUES = 7556
examples = [json.loads(l) for l in open(train, encoding="utf-8")]
turns_per_dialogue = len(examples) / len({e["dialogue_id"] for e in examples})
rows = {}
for label, rc in (("fp32-master", rc_fp32), ("bf16-weights", rc_bf16)):
    path = os.path.join(out, f"{label}.events.jsonl")
    events = []
    for line in open(path, encoding="utf-8") if os.path.exists(path) else []:
        try:
            events.append(json.loads(line))
        except ValueError:
            pass
    progress = [e for e in events if e.get("event") == "progress"]
    error = next((e for e in events if e.get("event") == "error"), None)
    row = {"exit": rc, "steps": len(progress), "error": error and error.get("message", "")[:300]}
    if len(progress) >= 4:
        # steady state: from the 3rd logged step to the last (first steps warm up kernels and allocate)
        a, b = progress[2], progress[-1]
        tps = (b["tokens_seen"] - a["tokens_seen"]) / (b["elapsed_seconds"] - a["elapsed_seconds"])
        step_s = (b["elapsed_seconds"] - a["elapsed_seconds"]) / (b["step"] - a["step"])
        peak = max(e.get("gpu_peak_memory_bytes", 0) for e in progress)
        reserved = max(e.get("gpu_peak_reserved_bytes", 0) for e in progress)
        meta_path = os.path.join(out, f"{label}.meta.json")
        meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
        mean_len = meta.get("data", {}).get("mean_length")
        if mean_len:
            hours = lambda n: round(n * mean_len / tps / 3600, 1)
            row.update({"mean_tokens_per_example": mean_len, "parameters": meta.get("model", {}).get("parameters"),
                        "stage1_hours": hours(GENERATED_DIALOGUES * turns_per_dialogue),
                        "stage2_hours": hours(REAL_TRAIN_TURNS)})
        row.update({"tokens_per_second": round(tps), "seconds_per_step": round(step_s, 3),
                    "gpu_peak_allocated_gib": round(peak / 2**30, 1),
                    "gpu_peak_reserved_gib": round(reserved / 2**30, 1),
                    "loss_first": progress[0].get("loss"), "loss_last": progress[-1].get("loss")})
    rows[label] = row
summary = {"turns_per_dialogue": round(turns_per_dialogue, 2), "runs": rows,
           "real_train_examples": REAL_TRAIN_TURNS,
           "generated_examples": round(GENERATED_DIALOGUES * turns_per_dialogue)}
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
print(json.dumps(summary, indent=2))
print()
print(f"{'run':<14}{'exit':>5}{'tok/s':>8}{'s/step':>8}{'peak GiB':>10}{'stage 1 h':>11}{'stage 2 h':>11}")
for label, r in rows.items():
    print(f"{label:<14}{r['exit']:>5}{r.get('tokens_per_second', '-'):>8}{r.get('seconds_per_step', '-'):>8}"
          f"{r.get('gpu_peak_allocated_gib', '-'):>10}{r.get('stage1_hours', '-'):>11}{r.get('stage2_hours', '-'):>11}")
EOF
