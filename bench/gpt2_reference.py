#!/usr/bin/env python3
"""The lmlab transformer written in plain PyTorch, timed in training: the reference that
`lmlab train`'s tokens/s and MFU are compared with (issue #4, GPU benchmark).

"Same model" means, for every option below, the same computation as src/lmlab/model:
  - the same modules with the same parameter names and shapes (tok_emb, pos_emb,
    blocks.N.{attn_norm, attn.wq/wk/wv/wo, ffn_norm, ffn.w1/w2/w3}, norm, lm_head), so the
    parameter count printed here equals `lmlab train`'s (GPT-2 124M: 124,475,904);
  - pre-norm blocks, norms computed in fp32, separate q/k/v projections, causal
    scaled_dot_product_attention, tanh-GELU MLP (gpt2) or SwiGLU + RoPE (llama), tied head;
  - the same init (N(0, 0.02), residual projections 0.02/sqrt(2L)) and the same FLOPs/token
    formula, 6N + 12LTd with N the weights of every matrix multiply (docs/model.md);
  - the same training step: bf16 autocast with fp32 weights, AdamW (0.9, 0.95), weight decay on
    matrices only, gradient clipping at 1.0, one optimizer step per batch.
Run on the GPU machine, e.g.

    python3 bench/gpt2_reference.py --modes eager,compile --batch 16 --steps 50 --out ref.jsonl

and compare with `lmlab train` on the same shape and batch. Prints one JSON line per mode; its
"lmlab_set" lists the `lmlab train --set` values of the same model.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Norm(nn.Module):
    """RMSNorm (llama) or LayerNorm (gpt2), computed in fp32, returned in the input dtype."""

    def __init__(self, dim, arch, bias, eps):
        super().__init__()
        self.rms, self.eps = arch == "llama", eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if (bias and not self.rms) else None

    def forward(self, x):
        xf = x.float()
        if self.rms:
            y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight.float()
        else:
            b = self.bias.float() if self.bias is not None else None
            y = F.layer_norm(xf, (xf.size(-1),), self.weight.float(), b, self.eps)
        return y.to(x.dtype)


def rope_tables(T, head_dim, theta, device):
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(T, device=device, dtype=torch.float32), inv_freq)
    both = torch.cat([angles, angles], -1)
    return both.cos(), both.sin()


def apply_rope(x, cos, sin):  # x: (B, H, T, D), rotate-half layout as in lmlab and HF Llama
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos.to(x.dtype) + torch.cat([-x2, x1], -1) * sin.to(x.dtype)


class Attention(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.h, self.hkv, self.d = a.n_head, a.n_kv_head or a.n_head, a.d_model // a.n_head
        self.wq = nn.Linear(a.d_model, self.h * self.d, bias=a.bias)
        self.wk = nn.Linear(a.d_model, self.hkv * self.d, bias=a.bias)
        self.wv = nn.Linear(a.d_model, self.hkv * self.d, bias=a.bias)
        self.wo = nn.Linear(self.h * self.d, a.d_model, bias=a.bias)

    def forward(self, x, rope):
        B, T, _ = x.shape
        q = self.wq(x).view(B, T, self.h, self.d).transpose(1, 2)
        k = self.wk(x).view(B, T, self.hkv, self.d).transpose(1, 2)
        v = self.wv(x).view(B, T, self.hkv, self.d).transpose(1, 2)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        if self.hkv != self.h:
            k = k.repeat_interleave(self.h // self.hkv, 1)
            v = v.repeat_interleave(self.h // self.hkv, 1)
        y = causal_attention(q, k, v)
        return self.wo(y.transpose(1, 2).reshape(B, T, self.h * self.d))


def causal_attention(q, k, v):  # (B, H, T, D) each
    if hasattr(F, "scaled_dot_product_attention"):  # torch >= 2.0
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    # torch 1.13 (Debian's python3-torch, for a CPU run): the explicit form, as lmlab uses there.
    T = q.size(-2)
    att = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))  # (B, H, T, T)
    att = att.masked_fill(torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return torch.softmax(att, -1) @ v


def ffn_hidden(a):
    if a.ffn_hidden:
        return a.ffn_hidden
    if a.arch == "gpt2":
        return 4 * a.d_model
    return (math.ceil(8 * a.d_model / 3) + 63) // 64 * 64


class Ffn(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.swiglu, hidden = a.arch == "llama", ffn_hidden(a)
        self.w1 = nn.Linear(a.d_model, hidden, bias=a.bias)
        self.w2 = nn.Linear(hidden, a.d_model, bias=a.bias)
        self.w3 = nn.Linear(a.d_model, hidden, bias=a.bias) if self.swiglu else None

    def forward(self, x):
        if self.swiglu:
            return self.w2(F.silu(self.w1(x)) * self.w3(x))
        return self.w2(F.gelu(self.w1(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.attn_norm = Norm(a.d_model, a.arch, a.bias, a.norm_eps)
        self.attn = Attention(a)
        self.ffn_norm = Norm(a.d_model, a.arch, a.bias, a.norm_eps)
        self.ffn = Ffn(a)

    def forward(self, x, rope):
        h = x + self.attn(self.attn_norm(x), rope)
        return h + self.ffn(self.ffn_norm(h))


class Transformer(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.tok_emb = nn.Embedding(a.vocab, a.d_model)
        self.pos_emb = nn.Embedding(a.seq_len, a.d_model) if a.arch == "gpt2" else None
        self.blocks = nn.ModuleList(Block(a) for _ in range(a.n_layer))
        self.norm = Norm(a.d_model, a.arch, a.bias, a.norm_eps)
        self.lm_head = None if a.tie else nn.Linear(a.d_model, a.vocab, bias=False)
        residual_std = a.init_std / math.sqrt(2 * a.n_layer)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = residual_std if name.endswith(("attn.wo.weight", "ffn.w2.weight")) else a.init_std
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx):
        T = idx.size(1)
        x = self.tok_emb(idx)
        rope = None
        if self.pos_emb is not None:
            x = x + self.pos_emb(torch.arange(T, device=idx.device))
        else:
            rope = rope_tables(T, self.a.d_model // self.a.n_head, self.a.rope_theta, idx.device)
        for block in self.blocks:
            x = block(x, rope)
        x = self.norm(x)
        return F.linear(x, self.tok_emb.weight) if self.lm_head is None else self.lm_head(x)

    def train_flops_per_token(self, T):
        """6N + 12LTd, N = weights of every matrix multiply (the embedding lookup is not one)."""
        n = sum(p.numel() for name, p in self.named_parameters()
                if p.dim() == 2 and not name.startswith(("tok_emb", "pos_emb", "lm_head")))
        n += self.a.vocab * self.a.d_model  # the output head (tied or not)
        return 6 * n + 12 * self.a.n_layer * T * self.a.d_model


def batches(a, device, batch, seed):
    """Random tokens, or windows of a raw little-endian uint16 token file (--data)."""
    g = torch.Generator().manual_seed(seed)
    if a.data:
        import numpy as np
        tokens = np.memmap(a.data, dtype=np.uint16, mode="r", offset=a.header_bytes)
    while True:
        if a.data:
            starts = torch.randint(len(tokens) - a.seq_len - 1, (batch,), generator=g).tolist()
            rows = [torch.from_numpy(tokens[s:s + a.seq_len + 1].astype("int64")) for s in starts]
            xy = torch.stack(rows)
        else:
            xy = torch.randint(a.vocab, (batch, a.seq_len + 1), generator=g)
        xy = xy.pin_memory().to(device, non_blocking=True) if device.type == "cuda" else xy
        yield xy[:, :-1], xy[:, 1:]


def run(a, mode, device):
    torch.manual_seed(a.seed)
    model = Transformer(a).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), **({"fused": True} if a.fused_adamw else {}))
    step_model = torch.compile(model) if mode == "compile" else model
    rank, world = 0, 1
    if mode == "ddp":  # this process is one rank (RANK, WORLD_SIZE, MASTER_ADDR/PORT); --batch is global
        import torch.distributed as dist
        if not dist.is_initialized():
            dist.init_process_group("gloo" if device.type == "cpu" else "nccl")
        rank, world = dist.get_rank(), dist.get_world_size()
        assert a.batch % world == 0, "--batch must be a multiple of WORLD_SIZE"
        step_model = torch.nn.parallel.DistributedDataParallel(model)
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=not a.fp32)
    data = batches(a, device, a.batch // world, a.seed + rank)

    def step():
        x, y = next(data)
        with amp:
            logits = step_model(x)
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(a.warmup):  # includes torch.compile's compilation
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    sync()
    seconds = time.perf_counter() - t0
    tokens_per_s = a.batch * a.seq_len * a.steps / seconds
    flops = model.train_flops_per_token(a.seq_len)
    return {
        "impl": "pytorch-" + mode, "torch": torch.__version__, "device": str(device),
        "threads": torch.get_num_threads(), "ranks": world, "rank": rank,
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "arch": a.arch, "params": sum(p.numel() for p in model.parameters()),
        "flops_per_token": flops, "batch": a.batch, "seq_len": a.seq_len, "steps": a.steps,
        "loss": loss.item(), "tokens_per_s": tokens_per_s,
        "mfu": flops * tokens_per_s / (a.peak_tflops * 1e12),
        "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None,
        "lmlab_set": lmlab_overrides(a),
    }


def lmlab_overrides(a):
    """The `lmlab train --set` values that give lmlab the model timed here."""
    return [f"model.arch={a.arch}", f"model.n_layer={a.n_layer}", f"model.n_head={a.n_head}",
            f"model.n_kv_head={a.n_kv_head}", f"model.d_model={a.d_model}", f"model.vocab_size={a.vocab}",
            f"model.max_seq_len={a.seq_len}", f"model.bias={str(a.bias).lower()}", f"model.tie_embeddings={str(a.tie).lower()}",
            f"model.init_std={a.init_std}", f"model.norm_eps={a.norm_eps}", f"model.rope_theta={a.rope_theta}",
            "model.ffn.type=dense", f"model.ffn.hidden={a.ffn_hidden}", "model.dropout=0.0"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", choices=["gpt2", "llama"], default="gpt2")
    p.add_argument("--n-layer", type=int, default=12)
    p.add_argument("--n-head", type=int, default=12)
    p.add_argument("--n-kv-head", type=int, default=0, help="0 = n_head")
    p.add_argument("--d-model", type=int, default=768)
    p.add_argument("--ffn-hidden", type=int, default=0, help="0 = lmlab's default for the arch")
    p.add_argument("--vocab", type=int, default=50304)
    p.add_argument("--seq-len", type=int, default=1024)
    p.add_argument("--bias", action=argparse.BooleanOptionalAction, default=True,
                   help="biases in linears and LayerNorm (GPT-2 124M has them; lmlab: [model] bias)")
    p.add_argument("--tie", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--init-std", type=float, default=0.02)
    p.add_argument("--norm-eps", type=float, default=1e-5)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=50, help="timed steps")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first (compilation, allocator)")
    p.add_argument("--lr", type=float, default=6e-4)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--fused-adamw", action="store_true", help="torch's fused AdamW kernel (default: foreach)")
    p.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    p.add_argument("--modes", default="eager,compile",
                   help="comma list of eager, compile, ddp (eager DistributedDataParallel over the ranks that "
                        "RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT describe; only rank 0 prints)")
    p.add_argument("--peak-tflops", type=float, default=989.0, help="bf16 dense peak (H100 SXM: 989)")
    p.add_argument("--data", help="raw little-endian uint16 token file (default: random tokens)")
    p.add_argument("--header-bytes", type=int, default=0, help="bytes to skip at the start of --data")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=0,
                   help="torch.set_num_threads (intra-op threads; 0 = torch's default). OpenBLAS takes "
                        "OPENBLAS_NUM_THREADS / OMP_NUM_THREADS from the environment, as in lmlab")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--out", help="also append the JSON lines to this file")
    a = p.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    for mode in a.modes.split(","):
        result = run(a, mode, device)
        if result["rank"] != 0:
            continue
        line = json.dumps(result)
        print(line, flush=True)
        if a.out:
            with open(a.out, "a") as f:
                f.write(line + "\n")
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
