#!/usr/bin/env python3
"""GPU-machine check of `lmlab export hf` (docs/eval.md, "Checking the export"):
 1. transformers loads the export with AutoModelForCausalLM (Llama, GPT-2 or Mixtral, whatever
    config.json names) and its fp32 logits on the fixed
    sequence in reference_logits.safetensors (written by `lmlab export hf --reference`) equal
    ours: max abs diff < --tol (1e-4);
 2. a Python scorer on transformers, built like lm-evaluation-harness's HFLM (same request
    layout, _encode_pair, truncation to the last max_length+1 tokens), rescoring the requests
    `lmlab eval --samples` wrote, gives exactly our acc (and acc_norm) on every task there.

    lmlab export hf --checkpoint CK --output hf_export --reference
    lmlab eval --checkpoint CK --tasks hellaswag,piqa --limit 200 --output res.json --samples samples.jsonl
    python3 bench/check_hf_export.py --export hf_export --results res.json --samples samples.jsonl
    lmlab generate --checkpoint CK --prompt "Once upon a time" --max-tokens 24 --temperature 0 > gen.txt
    python3 bench/check_hf_export.py --export hf_export --generate-prompt "Once upon a time" \
        --generate-expected gen.txt --max-new-tokens 24 --save-back hf_back
 3. with --save-back DIR, what transformers saves of the model it loaded (save_pretrained in
    shards of --shard-size, with their index, and the AutoTokenizer's files) goes to DIR, for
    `lmlab import hf --input DIR` (scripts/gpu_check_steps.sh, step_hf_import_back).

Needs torch, transformers, tokenizers, safetensors (the GPU machine has them).
"""
import argparse, collections, json, os, sys

import numpy as np
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoTokenizer


def check_logits(model, export, device, tol):
    ref = load_file(f"{export}/reference_logits.safetensors")
    with torch.no_grad():
        logits = model(ref["input_ids"].to(device)).logits.float().cpu()
    diff = (logits - ref["logits"]).abs().max().item()
    print(f"logits: {tuple(logits.shape)}, max abs diff vs lmlab {diff:.3e} (tolerance {tol:g})")
    return diff < tol


class HfScorer:
    """lm-eval's HFLM.loglikelihood on a transformers model and a `tokenizers` tokenizer."""

    def __init__(self, model, tok, max_length, device):
        self.model, self.tok, self.max_length, self.device = model, tok, max_length, device
        eot = tok.token_to_id("<|endoftext|>")
        self.eot = 0 if eot is None else eot

    def encode(self, text):
        return self.tok.encode(text, add_special_tokens=False).ids

    def encode_pair(self, context, continuation):
        n_spaces = len(context) - len(context.rstrip(" "))
        if n_spaces > 0:
            continuation = context[-n_spaces:] + continuation
            context = context[:-n_spaces]
        if not context:
            return [self.eot], self.encode(continuation)
        whole = self.encode(context + continuation)
        ctx = self.encode(context)
        return ctx, whole[len(ctx):]

    @torch.no_grad()
    def loglikelihood(self, context, continuation):
        ctx, cont = self.encode_pair(context, continuation)
        inp = (ctx + cont)[-(self.max_length + 1):][:-1]
        logits = self.model(torch.tensor([inp], device=self.device)).logits[0].float()
        logp = torch.log_softmax(logits, -1)[len(inp) - len(cont):]
        target = torch.tensor(cont, device=self.device)
        ll = logp.gather(1, target[:, None]).sum().item()
        greedy = bool((logp.argmax(-1) == target).all().item())
        return ll, greedy


@torch.no_grad()
def check_generate(model, export, prompt, expected_path, max_new, device):
    """lmlab generate prints the prompt, the continuation (without <|endoftext|>) and a newline."""
    auto = AutoTokenizer.from_pretrained(export)
    ids = auto(prompt, add_special_tokens=True)["input_ids"]
    plain = Tokenizer.from_file(f"{export}/tokenizer.json").encode(prompt, add_special_tokens=False).ids
    same_ids = ids == plain
    out = model.generate(torch.tensor([ids], device=device), do_sample=False, max_new_tokens=max_new)
    text = prompt + auto.decode(out[0, len(ids):].tolist(), skip_special_tokens=True)
    with open(expected_path, encoding="utf-8") as f:
        ours = f.read()
    ours = ours[:-1] if ours.endswith("\n") else ours
    same_text = text == ours
    print(f"generate: AutoTokenizer ids {'equal' if same_ids else 'DIFFER from'} tokenizers' {plain[:8]}; "
          f"greedy text {'equal' if same_text else 'DIFFERENT'}: transformers {text!r} lmlab {ours!r}")
    return same_ids and same_text


def check_tasks(scorer, samples_path, results):
    by_task = collections.defaultdict(lambda: collections.defaultdict(list))
    max_ll_diff = 0.0
    with open(samples_path) as f:
        for line in f:
            s = json.loads(line)
            ll, greedy = scorer.loglikelihood(s["context"], s["continuation"])
            max_ll_diff = max(max_ll_diff, abs(ll - s["logprob"]))
            by_task[s["task"]][s["item"]].append((s["choice"], ll, greedy, s["norm_chars"], s["gold"]))
    ok = True
    for task, items in by_task.items():
        acc, acc_norm = [], []
        for choices in items.values():
            choices.sort()
            lls = np.array([c[1] for c in choices])
            lens = np.array([float(c[3]) for c in choices])
            gold = choices[0][4]
            if task == "lambada":
                acc.append(float(choices[0][2]))
                continue
            acc.append(float(np.argmax(lls) == gold))
            acc_norm.append(float(np.argmax(lls / lens) == gold))
        ours = results[task]
        line = f"{task}: {len(items)} items, acc python {np.mean(acc):.6f} lmlab {ours['acc']:.6f}"
        same = abs(np.mean(acc) - ours["acc"]) < 1e-12
        if "acc_norm" in ours:
            line += f", acc_norm python {np.mean(acc_norm):.6f} lmlab {ours['acc_norm']:.6f}"
            same = same and abs(np.mean(acc_norm) - ours["acc_norm"]) < 1e-12
        print(line, "OK" if same else "DIFFERENT")
        ok = ok and same
    print(f"max |log-likelihood python - lmlab| over all requests: {max_ll_diff:.3e}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--export", required=True, help="directory written by `lmlab export hf --reference`")
    ap.add_argument("--results", help="JSON written by `lmlab eval --output` (one checkpoint)")
    ap.add_argument("--samples", help="JSON lines written by `lmlab eval --samples`")
    ap.add_argument("--generate-prompt", help="prompt for the greedy generate() comparison")
    ap.add_argument("--generate-expected", help="what `lmlab generate --temperature 0` printed for it")
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--save-back", help="directory for transformers' save_pretrained of the loaded model and tokenizer")
    ap.add_argument("--shard-size", default="1MB", help="save_pretrained's max_shard_size for --save-back")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32
    torch.backends.cudnn.allow_tf32 = False
    model = AutoModelForCausalLM.from_pretrained(a.export, torch_dtype=torch.float32).to(a.device).eval()
    print(f"{a.export}: {type(model).__name__}")
    ok = check_logits(model, a.export, a.device, a.tol)
    if a.generate_prompt is not None:
        if not a.generate_expected:
            ap.error("--generate-prompt needs --generate-expected")
        ok = check_generate(model, a.export, a.generate_prompt, a.generate_expected, a.max_new_tokens, a.device) and ok
    if a.samples:
        if not a.results:
            ap.error("--samples needs --results")
        with open(a.results) as f:
            run = json.load(f)["checkpoints"][0]
        scorer = HfScorer(model, Tokenizer.from_file(f"{a.export}/tokenizer.json"), run["max_length"], a.device)
        ok = check_tasks(scorer, a.samples, run["results"]) and ok
    if a.save_back:
        # Sharded on purpose: the import reads model.safetensors.index.json and every shard.
        model.save_pretrained(a.save_back, max_shard_size=a.shard_size)
        AutoTokenizer.from_pretrained(a.export).save_pretrained(a.save_back)
        print(f"saved back by transformers into {a.save_back}: {sorted(os.listdir(a.save_back))}")
    print("hf export check:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
