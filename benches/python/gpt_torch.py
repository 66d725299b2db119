#!/usr/bin/env python3
"""PyTorch peer of `cargo run --release -p benches --bin gpt`: the same GPT-2 architecture as
models::gpt (token + learned position embeddings, pre-LN blocks, causal multi-head attention, 4x tanh-GELU
MLP, final LN, LM head tied to wte, GPT-2 init), float32, eager mode, AdamW.

    python3 benches/python/gpt_torch.py train --preset char-tiny --batch 12 --steps 10 --threads 2
    python3 benches/python/gpt_torch.py generate --preset char-small --batch 8 --prompt 16 --new 128
    python3 benches/python/gpt_torch.py shakespeare --data ../shared/data/tinyshakespeare.txt --steps 2000

`train` times optimizer steps on random token batches (warm-up steps, then the median of timed steps) and
reports tokens/s and the process's peak resident memory; `generate` times KV-cache decoding; `shakespeare`
runs the nanoGPT character-level recipe (batch 12, lr 1e-3 cosine to 1e-4, no dropout) and reports the
validation loss and wall time. Prints one JSON line last.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    "char-tiny": dict(vocab=65, n_layer=4, n_head=4, n_embd=128, block=64),
    "char-small": dict(vocab=65, n_layer=6, n_head=6, n_embd=384, block=256),
    "gpt2": dict(vocab=50257, n_layer=12, n_head=12, n_embd=768, block=1024),
}


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        e = c["n_embd"]
        self.n_head = c["n_head"]
        self.ln_1 = nn.LayerNorm(e)
        self.c_attn = nn.Linear(e, 3 * e)
        self.attn_proj = nn.Linear(e, e)
        self.ln_2 = nn.LayerNorm(e)
        self.c_fc = nn.Linear(e, 4 * e)
        self.mlp_proj = nn.Linear(4 * e, e)

    def attend(self, x, cache=None):
        b, t, e = x.shape
        q, k, v = self.c_attn(x).split(e, dim=2)
        heads = lambda z: z.view(b, t, self.n_head, e // self.n_head).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        y = F.scaled_dot_product_attention(q, k, v, is_causal=(t > 1))
        return self.attn_proj(y.transpose(1, 2).contiguous().view(b, t, e))

    def forward(self, x, cache=None):
        x = x + self.attend(self.ln_1(x), cache)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.wte = nn.Embedding(c["vocab"], c["n_embd"])
        self.wpe = nn.Embedding(c["block"], c["n_embd"])
        self.h = nn.ModuleList([Block(c) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(c["n_embd"])
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() == 2:
                std = 0.02 / math.sqrt(2 * c["n_layer"]) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids, targets=None, caches=None, start=0):
        t = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(start, start + t))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        logits = self.ln_f(x) @ self.wte.weight.t()
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


def optimizer(model, lr):
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith(("wte", "wpe"))]
    rest = [p for n, p in model.named_parameters() if not (p.dim() == 2 and not n.startswith(("wte", "wpe")))]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.99), eps=1e-8)


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def train_bench(a, c):
    model = GPT(c)
    opt = optimizer(model, 1e-3)
    g = torch.Generator().manual_seed(0)
    times = []
    for i in range(a.warmup + a.steps):
        ids = torch.randint(0, c["vocab"], (a.batch, c["block"]), generator=g)
        targets = torch.randint(0, c["vocab"], (a.batch, c["block"]), generator=g)
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        _, loss = model(ids, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - start)
    med = sorted(times)[len(times) // 2]
    return {"tokens_per_s": a.batch * c["block"] / med, "step_s": med, "peak_rss_bytes": peak_rss_bytes()}


@torch.inference_mode()
def generate_bench(a, c):
    model = GPT(c).eval()
    g = torch.Generator().manual_seed(0)
    prompt = torch.randint(0, c["vocab"], (a.batch, a.prompt), generator=g)
    new = min(a.new, c["block"] - a.prompt)

    def run():
        caches = [dict() for _ in model.h]
        logits, _ = model(prompt, caches=caches)
        nxt = logits[:, -1].argmax(-1, keepdim=True)
        for i in range(new - 1):
            logits, _ = model(nxt, caches=caches, start=a.prompt + i)
            nxt = logits[:, -1].argmax(-1, keepdim=True)

    run()
    times = []
    for _ in range(a.reps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    med = sorted(times)[len(times) // 2]
    return {"tokens_per_s": a.batch * new / med, "seconds": med, "new_tokens": new}


def shakespeare(a, c):
    text = open(a.data, encoding="utf-8").read()
    chars = sorted(set(text))
    c = dict(c, vocab=len(chars))
    index = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([index[ch] for ch in text], dtype=torch.long)
    n = int(0.9 * len(data))
    train, val = data[:n], data[n:]
    torch.manual_seed(1337)
    model = GPT(c)
    opt = optimizer(model, 1e-3)
    g = torch.Generator().manual_seed(1337)
    t = c["block"]

    def batch(split, gen):
        ix = torch.randint(len(split) - t - 1, (a.batch,), generator=gen)
        return torch.stack([split[i:i + t] for i in ix]), torch.stack([split[i + 1:i + 1 + t] for i in ix])

    def lr_at(step):
        if step < a.warmup_lr:
            return 1e-3 * (step + 1) / a.warmup_lr
        r = (step - a.warmup_lr) / max(1, a.steps - a.warmup_lr)
        return 1e-4 + 0.5 * (1 + math.cos(math.pi * min(r, 1.0))) * (1e-3 - 1e-4)

    start = time.perf_counter()
    for step in range(a.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        ids, targets = batch(train, g)
        _, loss = model(ids, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    wall = time.perf_counter() - start
    with torch.no_grad():
        eg = torch.Generator().manual_seed(1)
        val_loss = sum(model(*batch(val, eg))[1].item() for _ in range(a.eval_batches)) / a.eval_batches
    return {"val_loss": val_loss, "wall_s": wall, "steps": a.steps}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train", "generate", "shakespeare"])
    ap.add_argument("--preset", default="char-tiny", choices=sorted(PRESETS))
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--new", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data")
    ap.add_argument("--warmup-lr", type=int, default=100)
    ap.add_argument("--eval-batches", type=int, default=200)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = PRESETS[a.preset]
    result = {"train": train_bench, "generate": generate_bench, "shakespeare": shakespeare}[a.mode](a, c)
    result.update(mode=a.mode, preset=a.preset, batch=a.batch, threads=a.threads, torch=torch.__version__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
