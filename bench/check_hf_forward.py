#!/usr/bin/env python3
"""Independent check of `lmlab export hf` that needs only torch (Debian's python3-torch 1.13 is
enough; no transformers): the Llama, GPT-2 and Mixtral forwards written here from the formulas
of transformers' modeling_llama.py, modeling_gpt2.py and modeling_mixtral.py run on the exported
tensors, by their HF names, and must give lmlab's fp32 logits on the sequence in
reference_logits.safetensors (max abs diff < --tol); with --expected, the greedy continuation of
<|endoftext|> must be the text `lmlab generate --prompt "" --temperature 0` printed.

    lmlab export hf --checkpoint CK --output hf --reference
    lmlab generate --checkpoint CK --prompt "" --max-tokens 24 --temperature 0 > gen.txt
    python3 bench/check_hf_forward.py --export hf --expected gen.txt --max-new-tokens 24
Exit 0 when both match, 1 otherwise.
"""
import argparse, json, math, struct, sys

import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32}


def load_safetensors(path):
    """{name: tensor} read from the format's own layout: u64 header size, JSON header, data."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, spec in header.items():
        a, b = spec["data_offsets"]
        raw = bytearray(blob[8 + n + a:8 + n + b])
        t = torch.frombuffer(raw, dtype=DTYPES[spec["dtype"]]) if raw else torch.empty(0, dtype=DTYPES[spec["dtype"]])
        out[name] = t.reshape(spec["shape"]).clone()
    return out


def rms_norm(x, w, eps):  # LlamaRMSNorm: in fp32, then the weight
    x = x.float()
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def causal_attention(q, k, v):  # (B, H, T, D) each; eager attention with the causal mask
    T = q.shape[2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    return torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v


def linear(x, w, b=None):
    return F.linear(x, w, b)


def llama_attention(c, W, p, x):
    B, T, _ = x.shape
    nh, nkv = c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
    hd = c.get("head_dim") or c["hidden_size"] // nh
    bias = lambda n: W.get(p + n + ".bias")
    q = linear(x, W[p + "q_proj.weight"], bias("q_proj")).view(B, T, nh, hd).transpose(1, 2)
    k = linear(x, W[p + "k_proj.weight"], bias("k_proj")).view(B, T, nkv, hd).transpose(1, 2)
    v = linear(x, W[p + "v_proj.weight"], bias("v_proj")).view(B, T, nkv, hd).transpose(1, 2)
    inv_freq = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    freqs = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
    k, v = k.repeat_interleave(nh // nkv, dim=1), v.repeat_interleave(nh // nkv, dim=1)  # repeat_kv
    y = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, nh * hd)
    return linear(y, W[p + "o_proj.weight"], bias("o_proj"))


def llama_mlp(W, p, x):
    act = F.silu(linear(x, W[p + "gate_proj.weight"], W.get(p + "gate_proj.bias")))
    return linear(act * linear(x, W[p + "up_proj.weight"], W.get(p + "up_proj.bias")),
                  W[p + "down_proj.weight"], W.get(p + "down_proj.bias"))


def mixtral_moe(c, W, p, x):
    """MixtralSparseMoeBlock: softmax over all experts, top-k, renormalised, weighted sum."""
    B, T, C = x.shape
    h = x.reshape(-1, C)
    probs = torch.softmax(linear(h, W[p + "gate.weight"]).float(), dim=-1)
    weights, chosen = torch.topk(probs, c["num_experts_per_tok"], dim=-1)
    weights = (weights / weights.sum(dim=-1, keepdim=True)).to(h.dtype)
    out = torch.zeros_like(h)
    for e in range(c["num_local_experts"]):
        rows, slot = torch.where(chosen == e)
        if rows.numel() == 0:
            continue
        q = p + f"experts.{e}."
        y = linear(F.silu(linear(h[rows], W[q + "w1.weight"])) * linear(h[rows], W[q + "w3.weight"]), W[q + "w2.weight"])
        out.index_add_(0, rows, y * weights[rows, slot, None])
    return out.view(B, T, C)


def llama_like_logits(c, W, ids, moe):
    x = W["model.embed_tokens.weight"][ids]
    eps = c["rms_norm_eps"]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = x + llama_attention(c, W, p + "self_attn.", rms_norm(x, W[p + "input_layernorm.weight"], eps))
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        x = x + (mixtral_moe(c, W, p + "block_sparse_moe.", h) if moe else llama_mlp(W, p + "mlp.", h))
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    return linear(rms_norm(x, W["model.norm.weight"], eps), head)


def gelu_new(x):  # transformers' NewGELUActivation (tanh approximation)
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def gpt2_logits(c, W, ids):
    B, T = ids.shape
    C, nh, eps = c["n_embd"], c["n_head"], c["layer_norm_epsilon"]
    ln = lambda x, n: F.layer_norm(x, (C,), W[n + ".weight"], W[n + ".bias"], eps)
    conv = lambda x, n: x @ W[n + ".weight"] + W[n + ".bias"]  # Conv1D: weight is (in, out)
    x = W["transformer.wte.weight"][ids] + W["transformer.wpe.weight"][torch.arange(T)]
    for i in range(c["n_layer"]):
        p = f"transformer.h.{i}."
        q, k, v = conv(ln(x, p + "ln_1"), p + "attn.c_attn").split(C, dim=2)
        heads = lambda t: t.view(B, T, nh, C // nh).transpose(1, 2)
        y = causal_attention(heads(q), heads(k), heads(v)).transpose(1, 2).reshape(B, T, C)
        x = x + conv(y, p + "attn.c_proj")
        x = x + conv(gelu_new(conv(ln(x, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
    head = W.get("lm_head.weight", W["transformer.wte.weight"])
    return linear(ln(x, "transformer.ln_f"), head)


def forward(c, W, ids):
    kind = c["model_type"]
    if kind == "llama":
        return llama_like_logits(c, W, ids, moe=False)
    if kind == "mixtral":
        return llama_like_logits(c, W, ids, moe=True)
    if kind == "gpt2":
        return gpt2_logits(c, W, ids)
    raise SystemExit(f"config.json: model_type {kind!r} is not one this check implements (llama, gpt2, mixtral)")


def byte_decoder():
    """GPT-2's bytes_to_unicode, inverted: the display character of each byte -> the byte."""
    out, n = {}, 0
    for b in range(256):
        printable = (33 <= b <= 126) or (161 <= b <= 172) or (174 <= b <= 255)
        out[chr(b) if printable else chr(256 + n)] = b
        n += 0 if printable else 1
    return out


def greedy_text(c, W, export, max_new):
    tok = json.load(open(f"{export}/tokenizer.json", encoding="utf-8"))
    specials = {t["content"]: t["id"] for t in tok.get("added_tokens", [])}
    eot = specials["<|endoftext|>"]
    ids = [eot]
    with torch.no_grad():
        for _ in range(max_new):
            nxt = int(forward(c, W, torch.tensor([ids]))[0, -1].argmax())
            if nxt == eot:
                break
            ids.append(nxt)
    by_id = {i: s for s, i in tok["model"]["vocab"].items()}
    dec = byte_decoder()
    return bytes(dec[ch] for i in ids[1:] for ch in by_id[i]).decode("utf-8", errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--export", required=True, help="directory written by `lmlab export hf --reference`")
    ap.add_argument("--expected", help="what `lmlab generate --prompt \"\" --temperature 0` printed")
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    c = json.load(open(f"{a.export}/config.json"))
    W = load_safetensors(f"{a.export}/model.safetensors")
    ref = load_safetensors(f"{a.export}/reference_logits.safetensors")
    with torch.no_grad():
        logits = forward(c, W, ref["input_ids"].long())
    diff = (logits - ref["logits"]).abs().max().item()
    ok = diff < a.tol
    print(f"{c['architectures'][0]} ({c['model_type']}): logits {tuple(logits.shape)}, "
          f"max abs diff vs lmlab {diff:.3e} (tolerance {a.tol:g}) {'OK' if ok else 'DIFFERENT'}")
    if a.expected:
        with open(a.expected, encoding="utf-8") as f:
            ours = f.read()
        ours = ours[:-1] if ours.endswith("\n") else ours
        text = greedy_text(c, W, a.export, a.max_new_tokens)
        same = text == ours
        print(f"greedy continuation of <|endoftext|> {'equal' if same else 'DIFFERENT'}: here {text!r}, lmlab {ours!r}")
        ok = ok and same
    print("hf forward check:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
