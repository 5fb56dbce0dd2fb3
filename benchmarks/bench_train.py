"""Training-step speed of PSVLNet against a reference-style peer, at the reference's shapes, on CPU.

Shapes (defaults): batch 256, 128 segments x 1024-d video features, 10-token queries, 2 threads, the
reference's Charades configuration (8,207,482 parameters for both nets). The peer computes what the
released PSVL code computes, the way it computes it: a bidirectional nn.GRU over *packed* sequences
(whose CPU backward slices every timestep), a Linear over [features || GRU states], plain BatchNorm over
padded positions, per-head loops in the non-local blocks. Steps alternate between the two nets so load
from other processes hits both alike; medians are printed with the ratio.

It also times the data side of a real training step (QueryDataset.collate over videos longer than 128
segments, with random-phase stride sampling) and prints its share of the step: the step waits for it.

    python benchmarks/bench_train.py                # ~2 min on 2 idle cores
    python benchmarks/bench_train.py --steps 5      # more steps, steadier medians
    python benchmarks/bench_train.py --batch 64     # quicker, smaller shapes
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from psvl.config import default
from psvl.localization.batches import QueryDataset
from psvl.localization.model import ModelConfig, PSVLConfig, PSVLNet, localization_loss
from psvl.localization.vocab import Vocab


class _PeerEncoder(nn.Module):
    def __init__(self, in_dim, hidden, out_dim, extra_input):
        super().__init__()
        self.gru = nn.GRU(in_dim, hidden, batch_first=True, bidirectional=True)
        self.extra = extra_input
        self.proj = nn.Sequential(
            nn.Linear(2 * hidden + (in_dim if extra_input else 0), out_dim), nn.ReLU(), nn.Dropout(0.5)
        )

    def forward(self, x, mask):
        packed = nn.utils.rnn.pack_padded_sequence(
            x, mask.sum(1).cpu(), batch_first=True, enforce_sorted=False
        )
        h, _ = self.gru(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=x.size(1))
        return self.proj(torch.cat([x, h], -1) if self.extra else h)


class _PeerFusionLayer(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads)  # sequence-first, as the reference
        self.conv = nn.Sequential(nn.Conv1d(dim, dim, 3, padding=1), nn.BatchNorm1d(dim), nn.ReLU())

    def forward(self, x, ctx, ctx_mask):
        a, _ = self.attn(
            x.transpose(0, 1), ctx.transpose(0, 1), ctx.transpose(0, 1), key_padding_mask=~ctx_mask
        )
        return self.conv(a.transpose(0, 1).transpose(1, 2)).transpose(1, 2) + x


class _PeerNonLocal(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.dim = heads, dim
        self.c_lin, self.v_lin = nn.Linear(dim, 2 * dim), nn.Linear(dim, dim)

    def forward(self, x, mask):
        k = self.v_lin(x)
        q, v = self.c_lin(x).split(self.dim, -1)
        outs = []
        for kh, qh, vh in zip(k.chunk(self.heads, -1), q.chunk(self.heads, -1), v.chunk(self.heads, -1)):
            w = (kh @ qh.transpose(1, 2) / (self.dim // self.heads) ** 0.5).masked_fill(
                ~mask[:, None, :], -1e9
            )
            outs.append(torch.softmax(w, -1) @ vh)
        return x + torch.cat(outs, -1)


class ReferenceStyleNet(nn.Module):
    """The released model's computation (same parameter count as PSVLNet), for timing only."""

    def __init__(self, c: PSVLConfig):
        super().__init__()
        d = c.fusion_dim
        self.emb = nn.Embedding(c.vocab_size, c.word_dim)
        self.query = _PeerEncoder(c.word_dim, c.hidden, d, extra_input=False)
        self.video = _PeerEncoder(c.video_dim, c.hidden, d, extra_input=True)
        self.fusions = nn.ModuleList(
            nn.ModuleList(_PeerFusionLayer(d, c.fusion_heads) for _ in range(c.fusion_layers))
            for _ in range(3)
        )
        self.nonlocals = nn.ModuleList(_PeerNonLocal(d, c.nonlocal_heads) for _ in range(c.nonlocal_blocks))
        self.feat2att, self.to_alpha = nn.Linear(d, d // 2, bias=False), nn.Linear(d // 2, 1, bias=False)
        self.fc, self.mlp = (
            nn.Linear(d, d),
            nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 2), nn.ReLU()),
        )

    def forward(self, tokens, token_mask, video, video_mask):
        w = self.query(self.emb(tokens), token_mask)
        v = self.video(video, video_mask)
        s = w
        for layer in self.fusions[0]:
            s = layer(s, v, video_mask)
        a = v
        for layer in self.fusions[1]:
            a = layer(a, w, token_mask)
        for layer in self.fusions[2]:
            a = layer(a, s, token_mask)
        for block in self.nonlocals:
            a = block(a, video_mask)
        alpha = self.to_alpha(torch.tanh(self.feat2att(a))).squeeze(-1).masked_fill(~video_mask, -1e9)
        att = torch.softmax(alpha, -1)
        return {"moment": self.mlp(self.fc((att[:, None] @ a).squeeze(1))), "attention": att}


def make_batch(batch, segments, dim, tokens, vocab_size, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "tokens": torch.randint(4, vocab_size, (batch, tokens), generator=g),
        "token_mask": torch.ones(batch, tokens, dtype=torch.bool),
        "video": torch.randn(batch, segments, dim, generator=g),
        "video_mask": torch.ones(batch, segments, dtype=torch.bool),
        "target": torch.rand(batch, 2, generator=g).sort(1).values,
        "guide": torch.rand(batch, segments, generator=g) > 0.7,
    }


def step_fn(net, batch, bf16=False):
    opt = torch.optim.Adam(net.parameters(), lr=4e-4)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = net(batch["tokens"], batch["token_mask"], batch["video"], batch["video_mask"])
        loss = localization_loss(out["moment"], batch["target"], out["attention"], batch["guide"])["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def data_fn(batch, segments, dim, tokens):
    """QueryDataset.collate over videos of 150-300 segments (so stride sampling runs), as in training."""
    rng = np.random.default_rng(0)
    n_videos = max(batch // 4, 1)
    feats = {
        f"v{i}": (rng.normal(size=(int(rng.integers(150, 300)), dim)).astype(np.float32), None, None)
        for i in range(n_videos)
    }
    words = [f"w{i}" for i in range(40)]
    rows = [
        {
            "video_id": f"v{i % n_videos}",
            "start_s": 1.0,
            "end_s": 5.0,
            "duration_s": 20.0,
            "tokens": list(rng.choice(words, tokens)),
        }
        for i in range(batch * 2)
    ]
    queries = pd.DataFrame(rows)
    data = QueryDataset(queries, feats, Vocab.build(queries["tokens"]), num_segments=segments, max_tokens=25)
    gen = torch.Generator().manual_seed(0)
    return lambda: data.collate(rng.permutation(len(data))[:batch], gen)


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--segments", type=int, default=128)
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--tokens", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3, help="timed steps per net (after one warm-up step)")
    ap.add_argument("--no-peer", action="store_true", help="time PSVLNet only")
    ap.add_argument(
        "--bf16", action="store_true", help="also time PSVLNet under CPU bf16 autocast (train.cpu_bf16)"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    # the reference's Charades configuration: the schema's model section, its 506-word vocabulary
    cfg = PSVLConfig.from_model(default(ModelConfig, "model"), vocab_size=506, video_dim=args.dim)
    torch.manual_seed(0)
    ours = PSVLNet(cfg).train()
    peer = ReferenceStyleNet(cfg).train()
    n_ours, n_peer = (sum(p.numel() for p in m.parameters()) for m in (ours, peer))
    print(
        f"shapes: batch {args.batch}, {args.segments} segments x {args.dim}-d, {args.tokens}-token queries, "
        f"{args.threads} threads; parameters: psvl {n_ours:,}, reference-style {n_peer:,}"
    )
    batch = make_batch(args.batch, args.segments, args.dim, args.tokens, cfg.vocab_size)
    nets = {"psvl": step_fn(ours, batch)} | ({} if args.no_peer else {"reference": step_fn(peer, batch)})
    if args.bf16:
        nets["psvl-bf16"] = step_fn(ours, batch, bf16=True)
    collate = data_fn(args.batch, args.segments, args.dim, args.tokens)
    times: dict[str, list[float]] = {name: [] for name in nets}
    data_times = []
    for name, fn in nets.items():
        fn()  # warm-up
    for _ in range(args.steps):
        for name, fn in nets.items():
            times[name].append(timed(fn))
        data_times.append(timed(collate))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name, m in med.items():
        print(
            f"{name:>10}: median {m:6.2f} s/step  {args.batch / m:6.1f} samples/s  best {min(times[name]):6.2f} s"
            "  (steps: " + ", ".join(f"{t:.2f}" for t in times[name]) + ")"
        )
    data = statistics.median(data_times)
    print(
        f"data: median {data:.3f} s/batch = {100 * data / (data + med['psvl']):.1f}% of a psvl training step"
    )
    if "reference" in med:
        for name in [n for n in med if n != "reference"]:
            print(f"speed-up {name} vs reference-style: {med['reference'] / med[name]:.2f}x")


if __name__ == "__main__":
    main()
