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
#      RUN_LIMIT (seconds per run, 240), SHAPE (llama2-7b; tiny = CPU dry run),
#      RUNS ("fp32-master bf16-weights"), TORCHRUN (1 = also the torchrun smoke run),
#      MODE (single = one process on one GPU; fsdp = NPROC processes under torchrun with
#      --fsdp full_shard, sharded checkpoints; RUNS defaults to fp32-master there, since FSDP
#      keeps float32 master weights whatever the load dtype), NPROC (fsdp: processes = GPUs, 8).
#   MODE=fsdp NPROC=8 bash bench/gpu-llama2-7b.sh            (8 x 80 GB)
#   MODE=fsdp NPROC=2 SHAPE=tiny bash bench/gpu-llama2-7b.sh (CPU dry run, gloo)
# A run killed by RUN_LIMIT still counts when it logged >= 4 steps (a 7B checkpoint with
# float32 Adam state is ~81 GB: the final one needs that much free disk under WORK).
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
MODE=${MODE:-single}
NPROC=${NPROC:-8}
case "$MODE" in
single) LAUNCH=("$PY") FSDP=() DEFAULT_RUNS="fp32-master bf16-weights" ;;
fsdp)
  LAUNCH=("$PY" -m torch.distributed.run --standalone --nproc-per-node "$NPROC")
  FSDP=(--fsdp full_shard --fsdp-state-dict sharded)
  DEFAULT_RUNS="fp32-master"
  ;;
*)
  echo "MODE must be single or fsdp" >&2
  exit 2
  ;;
esac
RUNS=${RUNS:-$DEFAULT_RUNS}
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
  echo "== $label ($MODE${FSDP:+, $NPROC processes}): $STEPS steps, batch $BATCH per device, $*"
  timeout "$RUN_LIMIT" "${LAUNCH[@]}" -m dst_trainer train --train "$TRAIN" --out "$WORK/$label" "${FSDP[@]}" \
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
rc_fp32=-1 rc_bf16=-1
case " $RUNS " in *" fp32-master "*) train fp32-master; rc_fp32=$? ;; esac
case " $RUNS " in *" bf16-weights "*) train bf16-weights --dtype bfloat16; rc_bf16=$? ;; esac

# torchrun path on the GPU, one process, the tiny model (seconds).
if [ "${TORCHRUN:-1}" = 1 ]; then
  echo "== torchrun smoke (tiny model, 1 process)"
  rm -rf "$WORK/torchrun"
  head -n 200 "$TRAIN" >"$WORK/small.jsonl"
  timeout 120 "$PY" -m torch.distributed.run --standalone --nproc_per_node 1 -m dst_trainer train \
    --train "$WORK/small.jsonl" --out "$WORK/torchrun" --tiny --max-steps 5 --batch-size 4 --bf16 true \
    >"$OUT/torchrun.events.jsonl" 2>"$OUT/torchrun.stderr.log"
  echo "   exit $?; $(tail -n 1 "$OUT/torchrun.events.jsonl" | cut -c1-300)"
fi

MODE=$MODE NPROC=$NPROC "$PY" bench/gpu-llama2-7b-summary.py "$OUT" "$TRAIN" "$rc_fp32" "$rc_bf16"
