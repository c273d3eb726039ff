"""``predict``: batched generation of dialogue states for a JSON-lines file.

Writes one output line per input line, in input order. An answer that is not a JSON
object counts as the empty state (``{}``) and is counted as ``invalid`` in the ``done``
event. Output goes to ``<out>.partial`` first (flushed after every chunk) and is renamed
to ``<out>`` at the end; a rerun after a crash keeps the already written lines that match
the input and continues after them.

Inside a chunk of ``batch_size * 8`` examples the prompts are sorted by length so batches
waste little padding; the chunk is written back in input order.

The layout (``--prompt``/``--target``) is the one the model was trained with (its
``dst_trainer.json``). With ``--prompt short`` each prompt holds the state *predicted* for
the dialogue's previous turn: a chunk (``batch_size * 32`` examples) is generated in waves,
turn by turn — wave k holds the k-th remaining turn of every dialogue in the chunk — so each
turn sees its predecessor's prediction (across chunks and after a resume too, from the lines
already written). The lines of a dialogue must come in turn order, as the converters write them.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from . import PROMPT_FORMAT_VERSION
from .data import DEFAULT_LAYOUT, Example, Layout, answer_to_state, read_examples
from .errors import ConfigError
from .events import emit

SORT_CHUNK_BATCHES = 8
CARRY_CHUNK_BATCHES = 32


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="a train --out directory (or any causal LM dir / hub name)")
    p.add_argument("--input", required=True, help="JSON-lines file of examples (state ignored)")
    p.add_argument("--out", required=True, help="predictions JSON-lines file")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--num-beams", type=int, default=1)
    p.add_argument("--max-length", type=int, default=None,
                   help="prompt+answer token budget (default: the model's training --max-length, else 1024)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads for torch; 0 = auto (1 for models under 50M parameters on CPU)")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
                   help="auto = bfloat16 on GPUs that support it, else float32")


def output_line(ex: Example, state: dict) -> str:
    return json.dumps({"dialogue_id": ex.dialogue_id, "turn": ex.turn, "state": state}, ensure_ascii=False)


def _resume_count(partial: str, examples: list[Example]) -> int:
    """How many leading lines of ``partial`` are complete and match the inputs; truncates the rest."""
    if not os.path.exists(partial):
        return 0
    good = 0
    keep_bytes = 0
    with open(partial, "rb") as fh:
        for raw in fh:
            if good >= len(examples) or not raw.endswith(b"\n"):
                break
            try:
                obj = json.loads(raw)
            except ValueError:
                break
            ex = examples[good]
            if obj.get("dialogue_id") != ex.dialogue_id or obj.get("turn") != ex.turn:
                break
            good += 1
            keep_bytes += len(raw)
    with open(partial, "r+b") as fh:
        fh.truncate(keep_bytes)
    return good


def generate_states(model, tokenizer, prompts: list[list[int]], *, max_new_tokens: int,
                    num_beams: int, prev_states: list[dict] | None = None,
                    layout: Layout = DEFAULT_LAYOUT) -> list[tuple[dict, bool]]:
    """(flat state, answer was valid) for each encoded prompt, in order, in one batch.
    ``prev_states``: the state before each prompt's turn (for ``--target update``)."""
    import torch

    from .features import left_pad_batch

    input_ids, attention = left_pad_batch(prompts, tokenizer.pad_token_id)
    device = next(model.parameters()).device
    with torch.inference_mode():
        out = model.generate(
            input_ids=input_ids.to(device),
            attention_mask=attention.to(device),
            max_new_tokens=max_new_tokens,
            num_beams=num_beams,
            do_sample=False,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    new_tokens = out[:, input_ids.shape[1]:].tolist()
    results = []
    for k, ids in enumerate(new_tokens):
        finished = tokenizer.eos_token_id in ids
        if finished:
            ids = ids[: ids.index(tokenizer.eos_token_id)]
        text = tokenizer.decode(ids, skip_special_tokens=True)
        results.append(answer_to_state(text, finished, prev_states[k] if prev_states else None, layout))
    return results


def load_for_inference(name: str, dtype: str):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .errors import is_oom
    from .models import ensure_pad, looks_like_path

    if (looks_like_path(name) or os.path.exists(name)) and not os.path.isdir(os.path.expanduser(name)):
        raise ConfigError(f"--model {name}: no such model directory")
    name = os.path.expanduser(name) if os.path.isdir(os.path.expanduser(name)) else name
    cuda = torch.cuda.is_available()
    if dtype == "auto":
        dtype = "bfloat16" if cuda and torch.cuda.is_bf16_supported() else "float32"
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(name, dtype=getattr(torch, dtype))
    except Exception as e:  # noqa: BLE001
        if is_oom(e):
            raise
        raise ConfigError(f"--model {name}: cannot load model/tokenizer: {type(e).__name__}: {e}") from e
    ensure_pad(tokenizer)
    tokenizer.padding_side = "left"
    model.config.use_cache = True
    model.to("cuda" if cuda else "cpu")
    model.eval()
    return tokenizer, model


def _waves(part: list[Example], carry: bool) -> list[list[int]]:
    """Index groups generated together: all of ``part`` at once, or — when each turn needs
    its predecessor's prediction — wave k = the k-th turn (in turn order) of every dialogue."""
    if not carry:
        return [list(range(len(part)))]
    by_dialogue: dict[str, list[int]] = {}
    for i, ex in enumerate(part):
        by_dialogue.setdefault(ex.dialogue_id, []).append(i)
    turns = [sorted(ix, key=lambda i: part[i].turn) for ix in by_dialogue.values()]
    depth = max(len(t) for t in turns)
    return [[t[k] for t in turns if k < len(t)] for k in range(depth)]


def _carried_states(partial: str, count: int) -> dict[str, tuple[int, dict]]:
    """The latest predicted state per dialogue among the first ``count`` lines kept in ``partial``."""
    carried: dict[str, tuple[int, dict]] = {}
    if count <= 0:
        return carried
    with open(partial, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n >= count:
                break
            obj = json.loads(line)
            did, turn = obj["dialogue_id"], obj["turn"]
            if turn >= carried.get(did, (-1, None))[0]:
                carried[did] = (turn, obj.get("state") or {})
    return carried


def run(args) -> dict:
    if args.batch_size < 1 or args.max_new_tokens < 1 or args.num_beams < 1 or args.threads < 0:
        raise ConfigError("--batch-size, --max-new-tokens and --num-beams must be >= 1, --threads >= 0")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    examples = read_examples(args.input, need_state=False)

    meta = {}
    meta_path = os.path.join(os.path.expanduser(args.model), "dst_trainer.json")
    if os.path.isfile(meta_path):
        with open(meta_path) as fh:
            meta = json.load(fh)
        fmt = meta.get("prompt_format")
        if fmt is not None and fmt != PROMPT_FORMAT_VERSION:
            raise ConfigError(f"--model {args.model}: trained with prompt format {fmt}, "
                              f"this trainer uses {PROMPT_FORMAT_VERSION}")
    try:
        layout = Layout.from_meta(meta)
    except ValueError as e:
        raise ConfigError(f"--model {args.model}: {e}") from None
    max_length = args.max_length or meta.get("max_length") or 1024
    max_prompt = max(max_length - args.max_new_tokens, 32)

    import transformers

    from .features import encode_prompt

    transformers.logging.set_verbosity_error()
    tokenizer, model = load_for_inference(args.model, args.dtype)
    from .models import set_threads

    small = sum(p.numel() for p in model.parameters()) < 50_000_000
    set_threads(args.threads, small=small, cuda=next(model.parameters()).is_cuda)

    out = os.path.abspath(args.out)
    out_dir = os.path.dirname(out)
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out {args.out}: cannot create directory: {e.strerror or e}") from e
    partial = out + ".partial"
    done_count = _resume_count(partial, examples)
    total = len(examples)
    emit({"event": "start", "step": done_count, "total_steps": total, "unit": "examples"})

    invalid = 0
    t0 = time.time()
    start_count = done_count
    # --prompt short: dialogue -> (turn, predicted state) of its latest predicted turn.
    carried: dict[str, tuple[int, dict]] = _carried_states(partial, done_count) if layout.carries_state else {}

    def _before(ex: Example) -> dict:
        turn, state = carried.get(ex.dialogue_id, (None, None))
        return state if turn is not None and turn < ex.turn else {}

    def _progress(step: int) -> None:
        rate = (step - start_count) / max(time.time() - t0, 1e-9)
        emit({"event": "progress", "step": step, "total_steps": total, "unit": "examples",
              "examples_per_second": round(rate, 2),
              "eta_seconds": round((total - step) / rate, 1) if rate > 0 else None})
    chunk = args.batch_size * (CARRY_CHUNK_BATCHES if layout.carries_state else SORT_CHUNK_BATCHES)
    with open(partial, "a", encoding="utf-8") as fh:
        while done_count < total:
            part = examples[done_count: done_count + chunk]
            results: list = [None] * len(part)
            processed = 0
            for wave in _waves(part, layout.carries_state):
                for i in wave:
                    if layout.carries_state:
                        part[i].prev_state = _before(part[i])
                prompts = {i: encode_prompt(tokenizer, part[i], max_prompt, layout) for i in wave}
                order = sorted(wave, key=lambda i: len(prompts[i]), reverse=True)
                for b in range(0, len(order), args.batch_size):
                    idx = order[b: b + args.batch_size]
                    kw = {"prev_states": [part[i].prev_state or {} for i in idx], "layout": layout} \
                        if layout != DEFAULT_LAYOUT else {}
                    states = generate_states(model, tokenizer, [prompts[i] for i in idx],
                                             max_new_tokens=args.max_new_tokens, num_beams=args.num_beams, **kw)
                    for i, r in zip(idx, states):
                        results[i] = r
                        ex = part[i]
                        if layout.carries_state and ex.turn >= carried.get(ex.dialogue_id, (-1, None))[0]:
                            carried[ex.dialogue_id] = (ex.turn, r[0])
                    processed += len(idx)
                    if processed < len(part):
                        _progress(done_count + processed)
            for ex, (state, valid) in zip(part, results):
                invalid += not valid
                fh.write(output_line(ex, state) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            done_count += len(part)
            _progress(done_count)
    os.replace(partial, out)
    done = {"event": "done", "output": out, "count": total, "invalid": invalid,
            "resumed_at": start_count or None}
    emit(done)
    return done
