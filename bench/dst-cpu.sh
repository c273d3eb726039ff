#!/usr/bin/env bash
# The CPU DST experiment (issue 10 §1; not part of `make test`): SmolLM2-135M-Instruct
# (GGUF) fine-tuned on real MultiWOZ 2.1 dialogues (baseline) and on generated dialogues
# then real ones (two-stage), both scored on a MultiWOZ 2.1 test sample under the `trade`
# convention. Prints one table: model, real and generated data used, training time, JGA.
#
#   bench/dst-cpu.sh [--generated DIR] [--real N] [--test N] [--budget MIN] [--stage1-budget MIN]
#                    [--generated-limit N] [--work DIR] [--init FILE.gguf] [--threads N] [-- TRAINER FLAGS…]
#
# --generated DIR   dialogues made by `dst-synth simulate`/`generate` (a folder with data.json,
#                   or 2.2-layout dialogues_*.json); without it only the baseline is trained.
# --real N          real training dialogues: the first N of the 2.1 dev split (val.json.zip,
#                   natural text like the test split) — default 300
# --test N          the first N dialogues of the 2.1 test split — default 25
# --budget MIN      time budget of the baseline and of stage 2 (each) — default 30
# --stage1-budget   time budget of stage 1 — default: --budget
# Trainer flags after `--` replace the defaults below (the set-up calibrated in trainer/README.md).
#
#   bench/dst-cpu.sh --lowres --generated DIR [--ks 50,200] [--seeds 1,2,3] [--test 100]
#                    [--replace-domain hotel] [--epochs-real 2] [--epochs-gen 1] [--tiny] …
#
# --lowres          the paper's low-resource experiment instead (bench/dst_lowres.py --help):
#                   k real dialogues with and without stage 1 on DIR, several seeds, mean ± sd,
#                   paired difference per seed, and a domain-replacement row.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
PY="${DST_SYNTH_PYTHON:-$REPO/.venv/bin/python}"
MWZ="${MULTIWOZ_DIR:-$REPO/../shared/data/multiwoz}"
INIT="$REPO/.venv/models/smollm2-135m-instruct-q4_1.gguf"
[ -f "$INIT" ] || INIT=/tmp/models/SmolLM2-135M-Instruct.Q4_1.gguf
GENERATED="" REAL=300 TEST=25 BUDGET=30 STAGE1_BUDGET="" GEN_LIMIT="" THREADS=2
WORK="${TMPDIR:-/tmp}/dst-cpu-bench-$(date -u +%Y%m%d-%H%M%S)"
FLAGS=(--prompt short --target update --max-length 256 --lr 2e-4 --batch-size 4 --epochs 1
       --warmup-ratio 0.05 --scheduler cosine --group-by-length --save-steps 100000)
# The low-resource driver trains with the same set-up; its own --epochs come after these.
if [ "${1:-}" = "--lowres" ]; then shift; exec "$PY" "$REPO/bench/dst_lowres.py" "--trainer-flags=${FLAGS[*]}" "$@"; fi
while [ $# -gt 0 ]; do
  case "$1" in
    --generated) GENERATED="$2"; shift 2 ;;
    --real) REAL="$2"; shift 2 ;;
    --test) TEST="$2"; shift 2 ;;
    --budget) BUDGET="$2"; shift 2 ;;
    --stage1-budget) STAGE1_BUDGET="$2"; shift 2 ;;
    --generated-limit) GEN_LIMIT="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --init) INIT="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --) shift; FLAGS=("$@"); break ;;
    -h|--help) sed -n 2,20p "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
STAGE1_BUDGET="${STAGE1_BUDGET:-$BUDGET}"
[ -x "$PY" ] || { echo "no python at $PY: run scripts/setup.sh" >&2; exit 1; }
[ -f "$INIT" ] || { echo "no base model at $INIT (scripts/setup.sh installs it)" >&2; exit 1; }
[ -f "$MWZ/2.1/val.json.zip" ] || { echo "MultiWOZ 2.1 not found at $MWZ (set MULTIWOZ_DIR)" >&2; exit 1; }
mkdir -p "$WORK"
echo "work folder: $WORK"
trainer() { (cd "$REPO/trainer" && PYTHONPATH="$REPO/trainer" "$PY" -m dst_trainer "$@"); }
count() { "$PY" -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; print(len({x["dialogue_id"] for x in r}), len(r))' "$1"; }

# ---- data
trainer convert-multiwoz21 --input "$MWZ/2.1/val.json.zip" --limit "$REAL" --out "$WORK/real.jsonl" >/dev/null
trainer convert-multiwoz21 --input "$MWZ/2.1/test.json.zip" --limit "$TEST" --out "$WORK/test.jsonl" >/dev/null
"$PY" - "$MWZ/2.1/test.json.zip" "$TEST" "$WORK/test-gold.json" <<'EOF'
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); name = [n for n in z.namelist() if n.endswith(".json")][0]
data = json.loads(z.read(name)); keys = list(data)[: int(sys.argv[2])]
json.dump({k: data[k] for k in keys}, open(sys.argv[3], "w"))
EOF
if [ -n "$GENERATED" ]; then
  lim=(); [ -n "$GEN_LIMIT" ] && lim=(--limit "$GEN_LIMIT")
  if [ -f "$GENERATED/data.json" ]; then
    trainer convert-multiwoz21 --input "$GENERATED/data.json" "${lim[@]}" --out "$WORK/generated.jsonl" >/dev/null
  else
    trainer convert-multiwoz22 --input "$GENERATED" "${lim[@]}" --out "$WORK/generated.jsonl" >/dev/null
  fi
  [ -s "$WORK/generated.jsonl" ] || { echo "no dialogues found in $GENERATED" >&2; exit 1; }
fi

# ---- train + predict + score; one line of results per model in $WORK/results.tsv
secs() { "$PY" -c 'import sys; t=sys.argv[1]; print(int(float(t)*60))' "$1"; }
train() { # name data init budget-minutes
  local t0=$SECONDS
  trainer train --train "$2" --out "$WORK/$1" --init "$3" --threads "$THREADS" \
    --time-budget "$(secs "$4")s" "${FLAGS[@]}" > "$WORK/$1.events.jsonl" 2> "$WORK/$1.log" \
    || { echo "training $1 failed, see $WORK/$1.log:" >&2; tail -5 "$WORK/$1.events.jsonl" >&2; exit 1; }
  echo $((SECONDS - t0)) > "$WORK/$1.seconds"
}
score() { # name
  trainer predict --model "$WORK/$1" --input "$WORK/test.jsonl" --out "$WORK/$1.preds.jsonl" \
    --batch-size 16 --max-new-tokens 64 --threads "$THREADS" > "$WORK/$1.predict.jsonl" 2>> "$WORK/$1.log"
  (cd "$REPO" && npx --no-install dst-synth eval --convention trade --gold "$WORK/test-gold.json" \
    --split test --pred "$WORK/$1.preds.jsonl" --json) > "$WORK/$1.score.json"
}
row() { # label model-dirs…
  "$PY" - "$WORK" "$@" <<'EOF'
import json, os, sys
work, label, *models = sys.argv[1:]
def meta(m): return json.load(open(os.path.join(work, m, "dst_trainer.json")))
def data(m):
    d = meta(m)["data"]; return f'{d["dialogues"]} / {d["examples"]}'
real = data(models[-1]); gen = data(models[0]) if len(models) > 1 else "-"
minutes = sum(int(open(os.path.join(work, m + ".seconds")).read()) for m in models) / 60
steps = " + ".join(str(meta(m)["global_step"]) for m in models)
s = json.load(open(os.path.join(work, models[-1] + ".score.json")))
right = round(s["jga"] * s["turns"])
print(f'{label:<10} | {real:>13} | {gen:>13} | {minutes:7.1f} | {steps:>9} | {100 * s["jga"]:5.1f} % ({right}/{s["turns"]}) | {100 * s["slotF1"]:5.1f}')
EOF
}

echo "baseline: training on $(count "$WORK/real.jsonl" | tr ' ' '/') real dialogues/examples, budget ${BUDGET} min"
train baseline "$WORK/real.jsonl" "$INIT" "$BUDGET"; score baseline
if [ -n "$GENERATED" ]; then
  echo "stage 1: $(count "$WORK/generated.jsonl" | tr ' ' '/') generated dialogues/examples, budget ${STAGE1_BUDGET} min"
  train stage1 "$WORK/generated.jsonl" "$INIT" "$STAGE1_BUDGET"
  echo "stage 2: real data from the stage-1 weights, budget ${BUDGET} min"
  train stage2 "$WORK/real.jsonl" "$WORK/stage1" "$BUDGET"; score stage2
fi

{
  echo
  echo "MultiWOZ 2.1 test sample: first $TEST dialogues; convention trade; base model $(basename "$INIT")"
  echo "trainer flags: ${FLAGS[*]} --threads $THREADS"
  echo "model      | real dial/ex  | gen dial/ex   | wall min* | steps     | JGA trade          | slot F1"
  row baseline baseline
  [ -n "$GENERATED" ] && row two-stage stage1 stage2
  echo "* wall-clock minutes of the training commands (model loading and saving included; the"
  echo "  budget counts training steps only); load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$WORK/table.txt"
