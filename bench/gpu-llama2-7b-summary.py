"""Summary of bench/gpu-llama2-7b.sh: steady-state tokens/s, peak GPU memory, estimated hours.

Usage: [MODE=fsdp NPROC=N] python bench/gpu-llama2-7b-summary.py OUT TRAIN_JSONL RC_FP32 RC_BF16
(tokens/s are of all processes together; peak GPU memory is rank 0's, i.e. per GPU under FSDP.)
"""
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
    if rc == -1:  # not run
        continue
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
mode = os.environ.get("MODE", "single")
summary = {"mode": mode, "processes": int(os.environ.get("NPROC", "1")) if mode == "fsdp" else 1,
           "turns_per_dialogue": round(turns_per_dialogue, 2), "runs": rows,
           "real_train_examples": REAL_TRAIN_TURNS,
           "generated_examples": round(GENERATED_DIALOGUES * turns_per_dialogue)}
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
print(json.dumps(summary, indent=2))
print()
print(f"mode {summary['mode']}, {summary['processes']} process(es)")
print(f"{'run':<14}{'exit':>5}{'tok/s':>8}{'s/step':>8}{'peak GiB':>10}{'stage 1 h':>11}{'stage 2 h':>11}")
for label, r in rows.items():
    print(f"{label:<14}{r['exit']:>5}{r.get('tokens_per_second', '-'):>8}{r.get('seconds_per_step', '-'):>8}"
          f"{r.get('gpu_peak_allocated_gib', '-'):>10}{r.get('stage1_hours', '-'):>11}{r.get('stage2_hours', '-'):>11}")
