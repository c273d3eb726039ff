"""The predict command: one line per input line, in order; invalid answers become {}; resume."""

import argparse
import json

import pytest
import torch

from dst_trainer import predict


@pytest.fixture(scope="module")
def tiny_model(cli, train_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("pmodel") / "model"
    res = cli("train", "--train", train_file, "--out", out, "--tiny", "--batch-size", "8", "--lr", "3e-3",
              "--max-length", "512", "--max-steps", "3", "--save-steps", "100")
    assert res.rc == 0, res
    return out


def _input_file(tmp_path, rows, drop_state=True):
    path = tmp_path / "in.jsonl"
    with open(path, "w") as fh:
        for r in rows:
            r = {k: v for k, v in r.items() if not (drop_state and k == "state")}
            fh.write(json.dumps(r) + "\n")
    return path


def test_predict_cli_keeps_count_and_order(cli, tiny_model, mwz_rows, tmp_path, monkeypatch):
    rows = mwz_rows[:13]
    inp = _input_file(tmp_path, rows)
    out = tmp_path / "sub" / "preds.jsonl"
    res = cli("predict", "--model", tiny_model, "--input", inp, "--out", out, "--batch-size", "4",
              "--max-new-tokens", "16", "--num-beams", "2")
    assert res.rc == 0, res
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(x["dialogue_id"], x["turn"]) for x in lines] == [(r["dialogue_id"], r["turn"]) for r in rows]
    for x in lines:
        assert set(x) == {"dialogue_id", "turn", "state"}
        assert isinstance(x["state"], dict) and all(isinstance(v, str) for v in x["state"].values())
    done = res.of("done")[0]
    assert done["count"] == 13
    # The same prediction in this process, counting the answers generate_states calls invalid.
    real, flags = predict.generate_states, []

    def counting(*a, **kw):
        out = real(*a, **kw)
        flags.extend(valid for _, valid in out)
        return out

    monkeypatch.setattr(predict, "generate_states", counting)
    args = _args(inp, tmp_path / "again.jsonl", batch_size=4)
    args.model, args.max_new_tokens, args.num_beams = str(tiny_model), 16, 2
    again = predict.run(args)
    assert len(flags) == 13 and again["invalid"] == flags.count(False)
    assert done["invalid"] == again["invalid"]
    assert [json.loads(x) for x in (tmp_path / "again.jsonl").read_text().splitlines()] == lines
    assert res.of("progress")[-1]["step"] == 13 and res.of("progress")[-1]["total_steps"] == 13
    assert not (tmp_path / "sub" / "preds.jsonl.partial").exists()


def test_predict_errors(cli, tiny_model, tmp_path, mwz_rows):
    inp = _input_file(tmp_path, mwz_rows[:2])
    res = cli("predict", "--model", tmp_path / "nope", "--input", inp, "--out", tmp_path / "p.jsonl")
    assert res.rc == 2 and res.events[0]["kind"] == "config"
    res = cli("predict", "--model", tiny_model, "--input", tmp_path / "none.jsonl", "--out", tmp_path / "p.jsonl")
    assert res.rc == 2 and res.events[0]["kind"] == "data"


class _Scripted:
    """Stands in for generation: answers by turn number, some of them not JSON."""

    def __init__(self):
        self.calls = []

    def __call__(self, model, tokenizer, prompts, *, max_new_tokens, num_beams):
        from dst_trainer.data import parse_answer

        out = []
        for ids in prompts:
            self.calls.append(ids)
            text = tokenizer.decode(ids)
            n = text.count("USER:")  # 1 + the number of earlier user turns = turn + 1
            answers = ['{"hotel": {"area": "north"}}', "not json at all", '{"taxi": {"leaveat": "17:15"}', "{}"]
            out.append(parse_answer(answers[(n - 1) % 4]))
        return out


def _args(inp, out, batch_size=3):
    return argparse.Namespace(model="unused", input=str(inp), out=str(out), batch_size=batch_size,
                              max_new_tokens=8, num_beams=1, max_length=100_000, dtype="auto", threads=1)


def test_invalid_answers_become_empty_states_order_and_count_kept(monkeypatch, tiny_tokenizer, mwz_rows,
                                                                  tmp_path, capsys):
    scripted = _Scripted()
    monkeypatch.setattr(predict, "generate_states", scripted)
    monkeypatch.setattr(predict, "load_for_inference", lambda name, dtype: (tiny_tokenizer, torch.nn.Linear(1, 1)))
    rows = mwz_rows[:30]
    inp = _input_file(tmp_path, rows)
    out = tmp_path / "preds.jsonl"
    done = predict.run(_args(inp, out))
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == len(rows)
    assert [(x["dialogue_id"], x["turn"]) for x in lines] == [(r["dialogue_id"], r["turn"]) for r in rows]
    expected = [{"hotel-area": "north"}, {}, {}, {}]
    assert [x["state"] for x in lines] == [expected[r["turn"] % 4] for r in rows]
    assert done["invalid"] == sum(1 for r in rows if r["turn"] % 4 in (1, 2))
    events = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "done"
    assert [e["step"] for e in events if e["event"] == "progress"][-1] == len(rows)


def test_prediction_resumes_after_a_crash(monkeypatch, tiny_tokenizer, mwz_rows, tmp_path):
    scripted = _Scripted()
    monkeypatch.setattr(predict, "generate_states", scripted)
    monkeypatch.setattr(predict, "load_for_inference", lambda name, dtype: (tiny_tokenizer, torch.nn.Linear(1, 1)))
    rows = mwz_rows[:10]
    inp = _input_file(tmp_path, rows)
    out = tmp_path / "preds.jsonl"
    # A crash left 4 good lines and half a line behind.
    partial = tmp_path / "preds.jsonl.partial"
    good = [json.dumps({"dialogue_id": r["dialogue_id"], "turn": r["turn"], "state": {"x-y": "kept"}}) for r in rows[:4]]
    partial.write_text("\n".join(good) + '\n{"dialogue_id": "' + rows[4]["dialogue_id"])
    done = predict.run(_args(inp, out))
    assert done["resumed_at"] == 4 and done["count"] == 10
    assert len(scripted.calls) == 6  # only the missing examples were generated
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["state"] for x in lines[:4]] == [{"x-y": "kept"}] * 4
    assert [(x["dialogue_id"], x["turn"]) for x in lines] == [(r["dialogue_id"], r["turn"]) for r in rows]
