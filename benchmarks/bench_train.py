"""Training-step speed of PSVLNet against the released PSVL code, at the reference's shapes, on CPU.

Shapes (defaults): batch 256, 128 segments x 1024-d video features, 10-token queries, 2 threads, the
reference's Charades configuration (PSVLNet: 8,207,482 parameters). The peer (`--peer released`, the
default) is the released code itself, loaded from a work tree of gistvision/PSVL given with
`--reference DIR` (its models/simple_model_cross_modal_two_stage.py, utils/loss.py and its config parser
merged with configs/cha_simple_model/simplemodel_cha_BS256_two-stage_attention.yml, as its train.py does;
the parser needs `yacs`). Nothing of it is copied here. A step is what each code's training loop does:
forward, its own loss, backward, Adam step. Steps alternate between the nets (A B, B A, ...) so load from
other processes hits both alike; medians and best steps are printed with the ratios, and the median of
the per-round ratios (the steadiest figure on a shared machine).

`--peer style` times instead ReferenceStyleNet, this file's re-implementation of the released
computation (packed BiGRU, Linear over [features || GRU states], plain BatchNorm, per-head loops); it is
not the released code and its ratio is not the one to quote.

It also times the data side of a real training step (QueryDataset.collate over videos longer than 128
segments, with random-phase stride sampling) and prints its share of the step: the step waits for it.

    git -C PSVL archive HEAD | tar -x -C /tmp/psvl_ref     # or a clone of github.com/gistvision/PSVL
    python -m benchmarks.bench_train --reference /tmp/psvl_ref            # ~2 min on 2 idle cores
    python -m benchmarks.bench_train --reference /tmp/psvl_ref --bf16     # also PSVLNet under CPU bf16
    python -m benchmarks.bench_train --peer style --batch 64              # own re-implementation, quick
    python -m benchmarks.bench_train --peer none --encoders               # minilm vs learned query encoder

`--encoders` also times PSVLNet with `model.query_encoder: minilm` (frozen all-MiniLM-L6-v2, learned
projection) at the same size and prints its step time over the learned encoder's (goal <= 1.5x). Its
steps read cached token states, as training does after each distinct query's first encoding; the one-time
cost of encoding the batch's distinct queries is timed and printed apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import statistics
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from benchmarks._timing import timed
from psvl.config import default
from psvl.features.segments import VideoFeatures
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
    """This file's re-implementation of the released computation (not the released code), same parameter
    count as PSVLNet; `--peer style`."""

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


RELEASED_MODEL = "models/simple_model_cross_modal_two_stage.py"
RELEASED_LOSS = "utils/loss.py"
RELEASED_PARSER = "config_parsers/simple_model_cross_modality_twostage_attention_config.py"
RELEASED_YML = "configs/cha_simple_model/simplemodel_cha_BS256_two-stage_attention.yml"


def _load_file(ref: Path, rel: str, name: str):
    path = ref / rel
    if not path.is_file():
        raise SystemExit(
            f"--reference {ref}: {rel} not found; pass a work tree of github.com/gistvision/PSVL "
            "(a clone, or `git archive HEAD | tar -x -C DIR`)"
        )
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ModuleNotFoundError as exc:
        raise SystemExit(f"--reference: {rel} imports {exc.name!r}; pip install {exc.name}") from None
    return module


def load_released(ref: Path, vocab_size: int, video_dim: int):
    """(SimpleModel, NLVLLoss, cfg) of the released code, configured as its train.py configures them.

    No device patching is needed on CPU: the model and loss files hold no `.cuda()`/device call; the only
    CUDA boundary is train.py's `device = torch.device("cuda")` and `batch_to_device`, which this
    benchmark does not run (it builds the model and the batch on the CPU directly)."""
    # its video GRU passes dropout=0.5 with one layer (a no-op torch warns about)
    warnings.filterwarnings("ignore", message="dropout option adds dropout after all but last")
    cfg = _load_file(ref, RELEASED_PARSER, "psvl_released_config")._C.clone()
    cfg.merge_from_file(str(ref / RELEASED_YML))
    cfg.MODEL.QUERY.EMB_IDIM = vocab_size  # what CharadesBasicDatasetBuilder sets: len(wtoi)
    cfg.MODEL.VIDEO.IDIM = video_dim
    model = _load_file(ref, RELEASED_MODEL, "psvl_released_model").SimpleModel(cfg)
    loss = _load_file(ref, RELEASED_LOSS, "psvl_released_loss").NLVLLoss(cfg)
    return model, loss, cfg


def released_batch(b: dict) -> dict:
    """The batch of `make_batch` in the format of the released CharadesBasicDataset.collate_fn."""
    return {
        "query_labels": b["tokens"],  # (B, L) long
        "query_masks": b["token_mask"],  # (B, L) bool: labels > 0
        "video_feats": b["video"],  # (B, T, D) float
        "video_masks": b["video_mask"][..., None].to(torch.uint8),  # (B, T, 1) ByteTensor
        "grounding_start_pos": b["target"][:, 0],
        "grounding_end_pos": b["target"][:, 1],
        "attention_masks": b["guide"].float(),  # (B, T)
    }


def released_step_fn(model, loss_fn, batch, lr):
    """One iteration of the released train.py's loop: zero_grad, forward, sum of its losses, backward, step."""
    opt = torch.optim.Adam(params=model.parameters(), lr=lr, betas=(0.9, 0.999))

    def step():
        opt.zero_grad()
        losses = loss_fn(model(batch), batch)
        sum(losses.values()).backward()
        opt.step()

    return step


WORDS = [
    "person",
    "open",
    "close",
    "door",
    "hold",
    "cup",
    "drink",
    "pour",
    "water",
    "sit",
    "chair",
    "stand",
    "table",
    "take",
    "phone",
    "put",
    "bag",
    "walk",
    "room",
    "eat",
    "sandwich",
    "read",
    "book",
    "wash",
    "dish",
    "turn",
    "light",
    "laugh",
    "smile",
    "run",
    "throw",
    "ball",
    "roll",
    "cube",
    "spin",
    "slide",
    "bounce",
]


def make_batch(batch, segments, dim, tokens, vocab_size, seed=0):
    g = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(WORDS), (batch, tokens), generator=g).tolist()
    return {
        "texts": [" ".join(WORDS[i] for i in row) for row in picks],  # read by the minilm encoder
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
            out = net(
                batch["tokens"], batch["token_mask"], batch["video"], batch["video_mask"], batch["texts"]
            )
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
        f"v{i}": VideoFeatures(
            rng.normal(size=(int(rng.integers(150, 300)), dim)).astype(np.float32), None, None
        )
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--segments", type=int, default=128)
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--tokens", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3, help="timed steps per net (after one warm-up step)")
    ap.add_argument(
        "--peer",
        choices=("released", "style", "none"),
        default="released",
        help="released: the released PSVL code from --reference; style: this file's re-implementation",
    )
    ap.add_argument(
        "--reference", type=Path, help="work tree of github.com/gistvision/PSVL (--peer released)"
    )
    ap.add_argument(
        "--bf16", action="store_true", help="also time PSVLNet under CPU bf16 autocast (train.cpu_bf16)"
    )
    ap.add_argument(
        "--encoders", action="store_true", help="also time the minilm query encoder (model.query_encoder)"
    )
    args = ap.parse_args()
    if args.peer == "released" and args.reference is None:
        ap.error("--peer released needs --reference DIR (a gistvision/PSVL work tree); or use --peer style")
    torch.set_num_threads(args.threads)
    # the reference's Charades configuration: the schema's model section, its 506-word vocabulary
    cfg = PSVLConfig.from_model(default(ModelConfig, "model"), vocab_size=506, video_dim=args.dim)
    torch.manual_seed(0)
    ours = PSVLNet(cfg).train()
    batch = make_batch(args.batch, args.segments, args.dim, args.tokens, cfg.vocab_size)
    print(
        f"shapes: batch {args.batch}, {args.segments} segments x {args.dim}-d, {args.tokens}-token queries, "
        f"{args.threads} threads; parameters: psvl {_count(ours):,}"
    )
    nets = {"psvl": step_fn(ours, batch)}
    if args.peer == "released":
        model, loss_fn, ref_cfg = load_released(args.reference, cfg.vocab_size, args.dim)
        model.train()
        unused = _count(model.loc_regressor)  # built by SimpleModel.__init__, never called by its forward
        print(
            f"released SimpleModel ({args.reference / RELEASED_MODEL}): {_count(model):,} parameters, "
            f"{_count(model) - unused:,} without its unused loc_regressor ({unused:,})"
        )
        nets["released"] = released_step_fn(model, loss_fn, released_batch(batch), ref_cfg.TRAIN.LR)
    elif args.peer == "style":
        peer = ReferenceStyleNet(cfg).train()
        print(f"reference-style re-implementation (not the released code): {_count(peer):,} parameters")
        nets["style"] = step_fn(peer, batch)
    if args.bf16:
        nets["psvl-bf16"] = step_fn(ours, batch, bf16=True)
    if args.encoders:
        torch.manual_seed(0)
        minilm = PSVLNet(dataclasses.replace(cfg, query_encoder="minilm")).train()
        cold = timed(lambda: minilm.query_encoder.states(batch["texts"])).wall
        n_texts = len(set(batch["texts"]))
        print(
            f"minilm: {_count(minilm):,} trainable parameters (+ the frozen sentence model's "
            f"{_count(minilm.query_encoder.backbone):,}); encoding the batch's {n_texts} distinct queries "
            f"once: {cold:.2f} s ({1000 * cold / n_texts:.1f} ms per query)"
        )
        nets["minilm"] = step_fn(minilm, batch)
    collate = data_fn(args.batch, args.segments, args.dim, args.tokens)
    times: dict[str, list[float]] = {name: [] for name in nets}
    data_times = []
    for fn in nets.values():
        fn()  # warm-up
    for i in range(args.steps):
        for name, fn in list(nets.items())[:: 1 if i % 2 == 0 else -1]:  # ABBA: a load trend hits both
            times[name].append(timed(fn).wall)
        data_times.append(timed(collate).wall)
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
    if "minilm" in med:
        ratios = statistics.median(a / b for a, b in zip(times["minilm"], times["psvl"]))
        print(
            f"minilm vs learned query encoder: {med['minilm'] / med['psvl']:.2f}x on medians, "
            f"{ratios:.2f}x median of the per-round ratios (goal <= 1.5x)"
        )
    peer = next((n for n in ("released", "style") if n in med), None)
    for name in [n for n in med if peer and n not in (peer, "minilm")]:
        print(
            f"speed-up {name} vs {peer}: {med[peer] / med[name]:.2f}x on medians, "
            f"{min(times[peer]) / min(times[name]):.2f}x on best steps, "
            f"{statistics.median(a / b for a, b in zip(times[peer], times[name])):.2f}x median of the "
            "per-round ratios"
        )


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


if __name__ == "__main__":
    main()
