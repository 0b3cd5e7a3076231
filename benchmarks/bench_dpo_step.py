#!/usr/bin/env python
"""One DPO training step of the released-size DiT (random weights) with LoRA, ours against the public implementation.

A step = the reference forward with the adapters disabled (no grad), the LoRA model's forward on winners and losers
(shared timestep and noise), the DPO loss, backward and an AdamW step. Scenes have `--parts` parts of `--tokens` tokens;
LoRA rank 64 on the attention projections (the targets of `configs/partcrafter_dpo.yaml`), base weights bf16, LoRA
weights float32 under bf16 autocast.

Variants (each on the same random weights):
  public            the public PartCrafter DiT (`--public-src`, a checkout holding its `src/`) with the same LoRA,
                    called as its training code does (parts flattened, per-scene part counts), gradient checkpointing on
  ours              this package's DiT, gradient checkpointing on (the released-size config's default)
  ours, no ckpt     gradient checkpointing off (more memory, no recomputed forward)
  compiled          `model.compile_blocks()`: every DiT block compiled (regional: one compile per block kind), checkpointing
                    on / off (`compiled-no-ckpt`: the fastest, at about 58 GiB for 4 pairs of 8 x 512 tokens)
Ratios are taken against the public variant of this run; without `--public-src`, against the figures measured earlier
(H200: 1.719 s at 13.7 GiB; H100: 1.95 s) for 4 pairs.

    python benchmarks/bench_dpo_step.py --public-src ~/src/PartCrafter          # GPU, released size
    python benchmarks/bench_dpo_step.py --size tiny --device cpu --steps 2       # smoke test
"""
import argparse, statistics, sys, time
from pathlib import Path

import torch

from partcrafter_dpo.models.transformer import PartCrafterDiTModel, dit_config
from partcrafter_dpo.training import DPOTrainConfig, add_lora
from partcrafter_dpo.dpo_loss import preference_forward, dpo_loss, default_model_call

ANCHOR_S = {'H200': (1.719, 13.7), 'H100': (1.95, 13.7)}   # public code, 4 pairs, checkpointing on: seconds, peak GiB


def public_model_call(model, noisy, timestep, cond):
    "The public DiT's training call: (B*P, T, C) latents, per-part timesteps and image tokens, per-scene part counts."
    b, p, t, c = noisy.shape
    out = model(noisy.reshape(b * p, t, c), timestep.repeat_interleave(p), cond.repeat_interleave(p, 0),
                attention_kwargs={'num_parts': torch.full((b,), p, dtype=torch.long)}).sample
    return out.view(b, p, t, c)


def make_model(cls, cfg, device, dtype, rank):
    torch.manual_seed(0)
    with torch.device(device): model = cls(**cfg).to(dtype)
    add_lora(model, DPOTrainConfig(lora_rank=rank, lora_alpha=2 * rank))
    for p in model.parameters():
        if p.requires_grad: p.data = p.data.float()                          # LoRA weights in fp32, base in bf16
    return model.train()


def run_variant(model, pairs, parts, tokens, ctx_len, ctx_dim, device, dtype, steps, model_call=default_model_call, warmup=2):
    g = torch.Generator().manual_seed(0)
    lw = torch.randn(pairs, parts, tokens, 64, generator=g).to(device)
    ll = torch.randn(pairs, parts, tokens, 64, generator=g).to(device)
    cond = torch.randn(pairs, ctx_len, ctx_dim, generator=g).to(device, dtype)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    if device.type == 'cuda': torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(device)
    times, t_first = [], time.perf_counter()
    for i in range(steps + warmup):
        sync(); t = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            errs = preference_forward(model, lw, ll, cond, generator=g, model_call=model_call)
            loss = dpo_loss(errs.model_err_w, errs.model_err_l, errs.ref_err_w, errs.ref_err_l, beta=500).loss
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        sync()
        if i >= warmup: times.append(time.perf_counter() - t)
    peak = torch.cuda.max_memory_allocated(device) / 2 ** 30 if device.type == 'cuda' else float('nan')
    warm = time.perf_counter() - t_first - sum(times)
    del opt
    return statistics.median(times), peak, warm


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', default='released'); ap.add_argument('--device', default='cuda')
    ap.add_argument('--parts', type=int, default=8); ap.add_argument('--tokens', type=int, default=None)
    ap.add_argument('--steps', type=int, default=5); ap.add_argument('--rank', type=int, default=64)
    ap.add_argument('--pairs', type=int, default=4)
    ap.add_argument('--public-src', default=None, help="a checkout of the public PartCrafter code (the folder holding src/)")
    ap.add_argument('--variants', default='public,ours,ours-no-ckpt,compiled,compiled-no-ckpt')
    a = ap.parse_args()
    device = torch.device(a.device)
    dtype = torch.bfloat16 if device.type == 'cuda' else torch.float32
    cfg = dit_config(a.size)
    tokens = a.tokens or {'tiny': 16, 'small': 128, 'released': 512}[a.size]
    gpu = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'
    variants = [v for v in a.variants.split(',') if v and (v != 'public' or a.public_src)]
    print(f"DiT {a.size}; {a.pairs} pairs of {a.parts} parts x {tokens} tokens; LoRA r={a.rank}; {dtype}; {gpu}", flush=True)
    print(f"{'variant':<34}{'s/step':>9}{'peak GiB':>10}{'warm-up s':>11}{'vs public':>11}", flush=True)
    rows, ours = {}, None
    args = (a.pairs, a.parts, tokens, 257, cfg['cross_attention_dim'], device, dtype, a.steps)
    for v in variants:
        try:
            if v == 'public':
                sys.path.insert(0, str(Path(a.public_src).resolve()))
                from src.models.transformers import PartCrafterDiTModel as PublicDiT
                model = make_model(PublicDiT, cfg, device, dtype, a.rank)
                model.enable_gradient_checkpointing()
                rows[v] = run_variant(model, *args, model_call=public_model_call)
                del model
            else:
                if ours is None: ours = make_model(PartCrafterDiTModel, cfg, device, dtype, a.rank)
                if v.startswith('compiled') and not getattr(ours, '_blocks_compiled', False):
                    ours.compile_blocks(); ours._blocks_compiled = True
                if v.endswith('no-ckpt'): ours.disable_gradient_checkpointing()
                else: ours.enable_gradient_checkpointing()
                rows[v] = run_variant(ours, *args)
        except torch.OutOfMemoryError:
            print(f"{v}: out of memory", flush=True); rows[v] = None
        if device.type == 'cuda': torch.cuda.empty_cache()
        if rows.get(v):
            t, peak, warm = rows[v]
            ref = rows['public'][0] if rows.get('public') else next((s for k, (s, _) in ANCHOR_S.items() if k in gpu), None)
            ref = ref * a.pairs / 4 if ref and not rows.get('public') else ref
            print(f"{v:<34}{t:>9.3f}{peak:>10.1f}{warm:>11.1f}{(ref / t if ref else float('nan')):>10.2f}x", flush=True)
    if not rows.get('public'): print("(ratios against the public code's earlier figure for this GPU kind: pass --public-src to measure it in this run)")


if __name__ == '__main__': main()
