#!/usr/bin/env python3
"""PyTorch peer of `cargo run --release -p benches --bin bert`: BertModel forward, mean pooling and L2
normalisation (sentence-transformers' computation) on a [batch, seq] batch of token ids, in sentences/s.

    python3 benches/python/bert_torch.py --checkpoint /tmp/minilm/model --batch 32 --seq 128 --threads 2

Without --checkpoint a randomly initialised model of all-MiniLM-L6-v2's shape is timed. Timing matches
benches::median_seconds: warm-up runs, then the median of timed runs. Prints one JSON line last.
"""
import argparse
import json
import time

import torch
from transformers import BertConfig, BertModel

MINILM = dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
              intermediate_size=1536, hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2,
              layer_norm_eps=1e-12)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.checkpoint:
        model = BertModel.from_pretrained(args.checkpoint).eval()
    else:
        model = BertModel(BertConfig(**MINILM)).eval()
    g = torch.Generator().manual_seed(42)
    ids = torch.randint(1000, model.config.vocab_size, (args.batch, args.seq), generator=g)
    ids[:, 0], ids[:, -1] = 101, 102
    mask = torch.ones_like(ids)

    def step():
        with torch.inference_mode():
            h = model(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).float()
            e = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), p=2, dim=1)
        assert e.shape == (args.batch, model.config.hidden_size)

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(max(args.reps, 1)):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    rate = args.batch / median
    print(f"pytorch {torch.__version__} ({model.config._attn_implementation} attention): {rate:.1f} sentences/s "
          f"({median * 1e3:.1f} ms per batch, {args.threads} threads)")
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "batch": args.batch, "seq": args.seq,
                      "threads": args.threads, "sentences_per_s": rate, "best_s": times[0], "median_s": median}))


if __name__ == "__main__":
    main()
