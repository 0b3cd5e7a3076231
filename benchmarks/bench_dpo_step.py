#!/usr/bin/env python
"""One DPO training step of the released-size DiT (random weights) with LoRA, measured in one run.

A step = the LoRA model's forward on winners and losers (shared timestep and noise), the reference forward with the
adapters disabled (no grad), the DPO loss, backward and an AdamW step. Scenes have `--parts` parts of `--tokens` tokens.
Variants: 4 and 8 pairs per GPU; the reference via disabled adapters vs a deep-copied frozen reference.
Anchor (public implementation, H100, bf16): 4 pairs in 1.95 s at 13.7 GiB peak.

    python benchmarks/bench_dpo_step.py                     # GPU, released size
    python benchmarks/bench_dpo_step.py --size tiny --device cpu --steps 2   # smoke test
"""
import argparse, copy, statistics, time

import torch

from partcrafter_dpo.models.transformer import PartCrafterDiTModel, dit_config
from partcrafter_dpo.training import DPOTrainConfig, add_lora
from partcrafter_dpo.dpo_loss import preference_forward, dpo_loss

ANCHOR_S, ANCHOR_GIB = 1.95, 13.7


def run_variant(model, pairs, parts, tokens, ctx_len, ctx_dim, device, dtype, steps, deep_copy_ref):
    g = torch.Generator().manual_seed(0)
    lw = torch.randn(pairs, parts, tokens, 64, generator=g).to(device)
    ll = torch.randn(pairs, parts, tokens, 64, generator=g).to(device)
    cond = torch.randn(pairs, ctx_len, ctx_dim, generator=g).to(device, dtype)
    ref = None
    if deep_copy_ref:
        ref = copy.deepcopy(model)
        ref.disable_adapters(); ref.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    if device.type == 'cuda': torch.cuda.reset_peak_memory_stats(device)
    times = []
    for i in range(steps + 2):
        sync(); t = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            errs = preference_forward(model, lw, ll, cond, generator=g, ref_model=ref)
            loss = dpo_loss(errs.model_err_w, errs.model_err_l, errs.ref_err_w, errs.ref_err_l, beta=500).loss
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        sync()
        if i >= 2: times.append(time.perf_counter() - t)
    peak = torch.cuda.max_memory_allocated(device) / 2 ** 30 if device.type == 'cuda' else float('nan')
    del ref, opt
    return statistics.median(times), peak


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', default='released'); ap.add_argument('--device', default='cuda')
    ap.add_argument('--parts', type=int, default=8); ap.add_argument('--tokens', type=int, default=None)
    ap.add_argument('--steps', type=int, default=5); ap.add_argument('--rank', type=int, default=64)
    ap.add_argument('--pairs', type=int, nargs='+', default=[4, 8])
    ap.add_argument('--no-checkpointing', action='store_true')
    a = ap.parse_args()
    device = torch.device(a.device)
    dtype = torch.bfloat16 if device.type == 'cuda' else torch.float32
    cfg = dit_config(a.size)
    tokens = a.tokens or {'tiny': 16, 'small': 128, 'released': 512}[a.size]
    torch.manual_seed(0)
    with torch.device(device): model = PartCrafterDiTModel(**cfg).to(dtype)
    add_lora(model, DPOTrainConfig(lora_rank=a.rank, lora_alpha=2 * a.rank))
    for n, p in model.named_parameters():
        if p.requires_grad: p.data = p.data.float()                          # LoRA weights in fp32, base in bf16
    if not a.no_checkpointing: model.enable_gradient_checkpointing()
    model.train()
    n_base = sum(p.numel() for p in model.parameters() if not p.requires_grad); n_lora = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"DiT {a.size}: {n_base / 1e9:.3f} B base params, {n_lora / 1e6:.1f} M LoRA (r={a.rank}); {a.parts} parts x {tokens} tokens; "
          f"{dtype}; checkpointing {'off' if a.no_checkpointing else 'on'}; {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}")
    print(f"{'variant':<44}{'s/step':>9}{'peak GiB':>10}{'vs anchor':>11}")
    for pairs in a.pairs:
        for deep in (False, True):
            try:
                t, peak = run_variant(model, pairs, a.parts, tokens, 257, cfg['cross_attention_dim'], device, dtype, a.steps, deep)
                name = f"{pairs} pairs, reference = {'deep copy' if deep else 'adapters disabled'}"
                print(f"{name:<44}{t:>9.3f}{peak:>10.1f}{(ANCHOR_S * pairs / 4) / t:>10.2f}x", flush=True)
            except torch.OutOfMemoryError:
                print(f"{pairs} pairs, deep={deep}: out of memory"); torch.cuda.empty_cache()
            if device.type == 'cuda': torch.cuda.empty_cache()


if __name__ == '__main__': main()
