#!/usr/bin/env python3
"""The peer of `lmlab generate` in bench/generate_bench.sh: a plain PyTorch eager KV-cache greedy
loop over the weights of an lmlab LLaMA-style checkpoint (Debian's python3-torch, the libtorch
lmlab links; nothing else). Written from the LLaMA formulas as Hugging Face's modeling_llama
states them (RMSNorm, rotate-half RoPE with tables computed once, SwiGLU, tied or untied head),
not from lmlab's code; it reads model.safetensors with its own parser and config.toml with tomllib.

Decoding: the prompt in one forward with a causal mask, then one token per step against the
cache (no mask: the new query sees every cached key); the head runs on the last position only.
Past max_seq_len the context is cropped to the last max_seq_len tokens and recomputed every step
(nanoGPT's crop, which is what `lmlab generate` does). Greedy (argmax), never stops early.

  generate_reference.py --checkpoint CKPT_DIR --prompt-ids "1 2 3" --max-tokens 128 [--threads 1]

prints one JSON line: new_tokens, seconds (prompt forward to last token), tokens_per_s, ids.
"""
import argparse
import json
import math
import struct
import sys
import time
import tomllib

import torch
import torch.nn.functional as F


def read_safetensors(path):
    """name -> float32 tensor, from the format's 8-byte header length, JSON header, raw data."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            sys.exit(f"{path}: {name} is {info['dtype']}; this reference reads F32 only")
        begin, end = info["data_offsets"]
        raw = bytearray(data[8 + n + begin:8 + n + end])
        tensors[name] = torch.frombuffer(raw, dtype=torch.float32).reshape(info["shape"])
    return tensors


class Llama:
    def __init__(self, weights, cfg):
        if cfg.get("arch", "llama") != "llama" or cfg.get("bias", False):
            sys.exit("this reference implements the bias-free llama architecture only")
        if cfg.get("ffn", {}).get("type", "dense") != "dense" or cfg.get("attention", {}).get("type", "mha") != "mha":
            sys.exit("this reference implements the dense FFN and plain multi-head attention only")
        self.n_head = cfg["n_head"]
        self.n_kv_head = cfg.get("n_kv_head", 0) or self.n_head
        self.head_dim = cfg["d_model"] // self.n_head
        self.eps = cfg.get("norm_eps", 1e-5)
        self.window = cfg["max_seq_len"]
        self.embed = weights["tok_emb.weight"]  # (V, C)
        self.head = weights.get("lm_head.weight", self.embed)
        self.final_norm = weights["norm.weight"]
        self.layers = []
        for i in range(cfg["n_layer"]):
            p = f"blocks.{i}."
            self.layers.append({k: weights[p + name] for k, name in [
                ("attn_norm", "attn_norm.weight"), ("wq", "attn.wq.weight"), ("wk", "attn.wk.weight"),
                ("wv", "attn.wv.weight"), ("wo", "attn.wo.weight"), ("ffn_norm", "ffn_norm.weight"),
                ("gate", "ffn.w1.weight"), ("up", "ffn.w3.weight"), ("down", "ffn.w2.weight")]})
        # RoPE: inv_freq_i = theta^(-2i/D), angles (positions, D/2) duplicated to (positions, D).
        d = self.head_dim
        inv_freq = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
        freqs = torch.outer(torch.arange(self.window, dtype=torch.float32), inv_freq)
        angles = torch.cat((freqs, freqs), dim=-1)
        self.cos, self.sin = angles.cos(), angles.sin()

    def rms_norm(self, x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * weight

    @staticmethod
    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def attention(self, x, layer, cache, start):
        b, t, _ = x.shape
        q = F.linear(x, layer["wq"]).view(b, t, self.n_head, self.head_dim).transpose(1, 2)
        k = F.linear(x, layer["wk"]).view(b, t, self.n_kv_head, self.head_dim).transpose(1, 2)
        v = F.linear(x, layer["wv"]).view(b, t, self.n_kv_head, self.head_dim).transpose(1, 2)
        cos, sin = self.cos[start:start + t], self.sin[start:start + t]
        q = q * cos + self.rotate_half(q) * sin
        k = k * cos + self.rotate_half(k) * sin
        if cache is not None:
            if cache[0] is not None:
                k = torch.cat((cache[0], k), dim=2)
                v = torch.cat((cache[1], v), dim=2)
            cache[0], cache[1] = k, v
        if self.n_kv_head != self.n_head:
            k = k.repeat_interleave(self.n_head // self.n_kv_head, dim=1)
            v = v.repeat_interleave(self.n_head // self.n_kv_head, dim=1)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)  # (B, H, t, Tk)
        if t > 1:  # query i sits at position Tk - t + i
            tk = k.shape[2]
            visible = torch.ones(t, tk, dtype=torch.bool).tril(tk - t)
            scores = scores.masked_fill(~visible, float("-inf"))
        y = torch.matmul(torch.softmax(scores, dim=-1), v)  # (B, H, t, D)
        return F.linear(y.transpose(1, 2).reshape(b, t, -1), layer["wo"])

    def next_logits(self, ids, caches, start):
        """ids: (B, t) at positions start..start+t-1 -> logits of the next token, (B, V)."""
        x = F.embedding(ids, self.embed)
        for i, layer in enumerate(self.layers):
            x = x + self.attention(self.rms_norm(x, layer["attn_norm"]), layer, caches[i] if caches else None, start)
            h = self.rms_norm(x, layer["ffn_norm"])
            x = x + F.linear(F.silu(F.linear(h, layer["gate"])) * F.linear(h, layer["up"]), layer["down"])
        return F.linear(self.rms_norm(x[:, -1], self.final_norm), self.head)


def greedy(model, prompt, n):
    seq = list(prompt)
    w = model.window
    fresh = lambda: [[None, None] for _ in model.layers]
    caches = fresh() if len(seq) < w else None
    logits = model.next_logits(torch.tensor([seq[-w:]]), caches, 0)
    for step in range(n):
        seq.append(int(logits.argmax(-1)))
        if step + 1 == n:
            break
        if len(seq) <= w:
            logits = model.next_logits(torch.tensor([[seq[-1]]]), caches, len(seq) - 1)
        else:  # the window slides: every position changes, recompute it
            logits = model.next_logits(torch.tensor([seq[-w:]]), None, 0)
    return seq[len(prompt):]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True, help="lmlab checkpoint directory (model.safetensors, config.toml)")
    ap.add_argument("--prompt-ids", required=True, help="space-separated token ids")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch's default)")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    with open(f"{a.checkpoint}/config.toml", "rb") as f:
        cfg = tomllib.load(f)["model"]
    model = Llama(read_safetensors(f"{a.checkpoint}/model.safetensors"), cfg)
    prompt = [int(t) for t in a.prompt_ids.split()]
    with torch.inference_mode():
        start = time.perf_counter()
        ids = greedy(model, prompt, a.max_tokens)
        seconds = time.perf_counter() - start
    print(json.dumps({"new_tokens": len(ids), "seconds": seconds, "tokens_per_s": len(ids) / seconds,
                      "threads": torch.get_num_threads(), "ids": ids}))


if __name__ == "__main__":
    main()
