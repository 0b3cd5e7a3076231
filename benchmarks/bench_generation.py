"""Benchmark PartCrafter generation with random weights: DiT sampling steps (with classifier-free guidance) and mesh
extraction, eager vs optimised paths of `partcrafter_dpo`.

    python benchmarks/bench_generation.py --device cuda --dtype bf16 --parts 8 --tokens 512 --steps 50
    python benchmarks/bench_generation.py --config tiny --device cpu --dtype fp32      # smoke test on CPU

Reports ms per CFG step for each path and its ratio to the public implementation's time on the same kind of GPU
(76.8 ms on an H200, 82 ms on an H100: 8 parts x 512 tokens, bf16, CFG), the guided velocity's error against float32,
the max abs difference of each path's output from the eager path, seconds of DiT time per 50-step candidate,
batched-seed throughput, peak GPU memory, and the split between DiT steps and mesh extraction.

Needs: torch, numpy, diffusers, scikit-image, trimesh (the `partcrafter_dpo.models.transformer` / `.vae` imports);
transformers is not needed (no image encoder: the image tokens are random). Paths:
  eager        the notebook's plain path (SDPA attention, separate q/k/v GEMMs, cross-attention for both CFG halves)
  fused        + one GEMM for q/k/v (k/v) and the unconditional half's cross-attention skipped (exact: zero tokens)
  compile      fused + torch.compile (default mode)
  compile-cg   fused + torch.compile(mode="reduce-overhead"), i.e. CUDA graphs (CUDA only)
  compile-cg-cudnn  compile-cg with attention restricted to cuDNN's SDPA kernel (CUDA only)
  compile-max  fused + torch.compile(mode="max-autotune") (Triton GEMM autotuning + CUDA graphs; minutes to compile)
  float8-cg    compile-cg on the model's float8 twin (`float8_inference`: e4m3 products with per-row scales; CUDA, sm_89+)
"bf16 tolerance": each path's guided velocity is compared with the eager path's, next to the eager bf16 path's own
distance from a float32 evaluation of the same weights (relative RMS).
Mesh extraction is timed twice: the random decoder as is on --random-mesh-parts parts (rough fields: the whole grid
is refined, a worst case), and, for every part, the same decoder queried on the points a smooth part would need
(its logits replaced by those of a sphere of random centre and radius), which is what trained weights cost.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

ANCHOR_MS_PER_STEP = {'H200': 76.8, 'H100': 82.0}  # public implementation, bf16, 8 parts x 512 tokens, CFG, same GPU kind


def anchor_for(gpu_name):
    "The public implementation's ms per CFG step on this kind of GPU, and the kind's name (None off those GPUs)."
    for kind, ms in ANCHOR_MS_PER_STEP.items():
        if gpu_name and kind in gpu_name: return ms, kind
    return None, None


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda")
    p.add_argument("--dtype", default="bf16", choices=["bf16", "fp16", "fp32"])
    p.add_argument("--config", default="released", choices=["tiny", "small", "released"])
    p.add_argument("--parts", type=int, default=8)
    p.add_argument("--tokens", type=int, default=None, help="latent tokens per part (default: the config's, 512 released)")
    p.add_argument("--steps", type=int, default=50, help="sampling steps per candidate")
    p.add_argument("--guidance", type=float, default=7.0)
    p.add_argument("--seeds", type=int, default=4, help="candidates batched in one forward for the throughput figure")
    p.add_argument("--iters", type=int, default=10, help="timed steps per path")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--paths", default="eager,fused,compile,compile-cg,compile-cg-cudnn,float8-cg")
    p.add_argument("--no-fp32-reference", action="store_true", help="skip the float32 reference of the bf16 tolerance")
    p.add_argument("--profile", action="store_true", help="print a kernel-time breakdown of the best path")
    p.add_argument("--profile-path", default=None, help="profile this path instead of the best one (implies --profile)")
    p.add_argument("--public-src", default=None, help="a checkout of the public PartCrafter code (the folder holding src/): "
                   "its DiT is timed in the same run, with the same weights, as the 'public' path and the ratios are taken against it")
    p.add_argument("--random-mesh-parts", type=int, default=1,
                   help="parts meshed from the random-weight decoder as is (a worst case: rough fields refine everywhere)")
    p.add_argument("--octree-depth", type=int, default=8)
    p.add_argument("--coarse-depth", type=int, default=6)
    p.add_argument("--skip-mesh", action="store_true")
    p.add_argument("--json", default=None, help="write the results here")
    return p.parse_args(argv)


def with_sdpa_backend(fn, backend: str):
    "Run `fn` with scaled-dot-product attention restricted to one backend (e.g. 'CUDNN_ATTENTION')."
    from torch.nn.attention import SDPBackend, sdpa_kernel
    def wrapped(*a, **k):
        with sdpa_kernel(getattr(SDPBackend, backend)): return fn(*a, **k)
    return wrapped


class Timer:
    "Wall time of a region, synchronising the device."
    def __init__(self, torch, device):
        self.torch, self.cuda = torch, str(device).startswith("cuda")

    def sync(self):
        if self.cuda: self.torch.cuda.synchronize()

    def __enter__(self):
        self.sync(); self.t0 = time.perf_counter(); return self

    def __exit__(self, *exc):
        self.sync(); self.seconds = time.perf_counter() - self.t0


def main(argv=None):
    args = parse_args(argv)
    import torch
    from partcrafter_dpo.models.layers import TripoAttention, float8_inference
    from partcrafter_dpo.models.scheduling import partcrafter_scheduler, prediction_to_velocity, set_partcrafter_timesteps
    from partcrafter_dpo.models.transformer import DIT_TOKENS, PartCrafterDiTModel, dit_config
    from partcrafter_dpo.models.vae import TripoSGVAEModel, extract_mesh, vae_config

    dtype = dict(bf16=torch.bfloat16, fp16=torch.float16, fp32=torch.float32)[args.dtype]
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    tokens = args.tokens or DIT_TOKENS[args.config]
    P, S = args.parts, 257
    timer = lambda: Timer(torch, device)
    if cuda: torch.backends.cuda.matmul.allow_tf32 = True
    results = dict(config=args.config, dtype=args.dtype, device=str(device), parts=P, tokens=tokens, steps=args.steps,
                   gpu=torch.cuda.get_device_name(device) if cuda else None, torch=torch.__version__)

    torch.manual_seed(0)
    with torch.device(device):
        dit = PartCrafterDiTModel(**dit_config(args.config)).eval()  # float32 first, for the reference
    cfg = dit.config
    results["dit_params"] = sum(p.numel() for p in dit.parameters())
    gen = torch.Generator(device).manual_seed(0)
    image_tokens = torch.randn(1, S, cfg.cross_attention_dim, generator=gen, device=device, dtype=dtype)
    guidance = args.guidance > 1

    def make_step(model, fast: bool, mark_step: bool = False):
        "One CFG sampling step: DiT on [uncond; cond], guidance, Euler update in float32."
        def step(latents, t, dt, context, part_ids):
            if mark_step: torch.compiler.cudagraph_mark_step_begin()
            b = latents.shape[0]
            x = torch.cat([latents, latents]) if guidance else latents
            pred = model(x.to(dtype), t, context, part_ids=part_ids, zero_context_scenes=b if (fast and guidance) else 0).sample.float()
            if guidance:
                u, c = pred.chunk(2)
                pred = u + args.guidance * (c - u)
            return latents + dt * prediction_to_velocity(pred)
        return step

    def inputs(batch):
        g = torch.Generator(device).manual_seed(1)
        latents = torch.randn(batch, P, tokens, cfg.in_channels, generator=g, device=device)
        ctx = image_tokens.expand(batch, -1, -1)
        context = torch.cat([torch.zeros_like(ctx), ctx]) if guidance else ctx
        ids = torch.arange(P, device=device)
        part_ids = torch.cat([ids.expand(batch, -1), (ids + P).expand(batch, -1)]) if guidance and 2 * P <= cfg.max_num_parts else None
        return latents, torch.tensor(500.0, device=device), torch.tensor(-0.02, device=device), context, part_ids

    x1 = inputs(1)
    velocity = lambda out, x: (out - x[0]) / x[2]  # the guided velocity of a step
    rel_rms = lambda a, b: ((a - b).pow(2).mean().sqrt() / b.pow(2).mean().sqrt()).item()
    v_fp32 = None
    if not args.no_fp32_reference and dtype != torch.float32:
        with torch.no_grad():
            dtype_run, dtype = dtype, torch.float32
            v_fp32 = velocity(make_step(dit, fast=False)(*x1), x1)
            dtype = dtype_run
    dit.to(dtype)

    # fused q/k/v weights are built once and switched on/off without new tensors (no torch.compile recompiles)
    dit.fuse_qkv_projections()
    attns = [m for m in dit.modules() if isinstance(m, TripoAttention)]
    fused_cache = [m._fused for m in attns]
    def set_fused(on: bool):
        for m, f in zip(attns, fused_cache): m._fused = f if on else None


    paths = [p for p in args.paths.split(",") if p]
    if args.public_src: paths = ["public"] + [p for p in paths if p != "public"]
    if not cuda: paths = [p for p in paths if not p.startswith("compile-cg") and p not in ("compile-max", "float8-cg")]
    step_fns, fused_of, outputs = {}, {}, {}
    for name in paths:
        if name == "eager": step_fns[name], fused_of[name] = make_step(dit, fast=False), False
        elif name == "fused": step_fns[name], fused_of[name] = make_step(dit, fast=True), True
        elif name in ("compile", "compile-cg", "compile-cg-cudnn", "compile-max"):
            mode = {"compile": None, "compile-max": "max-autotune"}.get(name, "reduce-overhead")
            compiled = torch.compile(dit, mode=mode, dynamic=False)
            fn = make_step(compiled, fast=True, mark_step=name != "compile")
            if name.endswith("cudnn"): fn = with_sdpa_backend(fn, "CUDNN_ATTENTION")
            step_fns[name], fused_of[name] = fn, True
        elif name == "public":
            sys.path.insert(0, str(Path(args.public_src).resolve()))
            from src.models.transformers import PartCrafterDiTModel as PublicDiT
            with torch.device(device): pub = PublicDiT(**dit_config(args.config)).eval()
            pub.load_state_dict(dit.state_dict()); pub.to(dtype)
            C = cfg.in_channels
            def public_step(latents, t, dt, context, part_ids):
                "The public model's call: parts flattened, per-part image tokens and timesteps, num_parts in attention_kwargs."
                b = latents.shape[0]
                x = torch.cat([latents, latents]) if guidance else latents
                n = x.shape[0] * P
                pred = pub(x.reshape(n, tokens, C).to(dtype), t.expand(n), context.repeat_interleave(P, 0),
                           attention_kwargs={"num_parts": P}).sample.float().view(-1, P, tokens, C)
                if guidance:
                    u, c = pred.chunk(2)
                    pred = u + args.guidance * (c - u)
                return latents + dt * prediction_to_velocity(pred)
            step_fns[name], fused_of[name] = public_step, False
        elif name == "float8-cg":
            import copy
            dit8 = float8_inference(copy.deepcopy(dit), out_dtype=dtype)
            step_fns[name], fused_of[name] = make_step(torch.compile(dit8, mode="reduce-overhead", dynamic=False), fast=True, mark_step=True), True
        else:
            sys.exit(f"unknown path {name}")

    per_step = {}
    for name, fn in list(step_fns.items()):
        set_fused(fused_of[name])
        with torch.no_grad():
            try:
                with timer() as tw:
                    for _ in range(args.warmup): out = fn(*x1)
            except Exception as e:  # e.g. a kernel this GPU / torch build lacks
                print(f"[{name:10s}] failed: {type(e).__name__}: {str(e)[:300]}", flush=True)
                del step_fns[name]; continue
            times = []
            for _ in range(args.iters):
                with timer() as tt: out = fn(*x1)
                times.append(tt.seconds)
            outputs[name] = out.clone()
        per_step[name] = dict(ms=1e3 * statistics.median(times), ms_min=1e3 * min(times), warmup_s=tw.seconds)
        print(f"[{name:10s}] {per_step[name]['ms']:8.2f} ms/CFG step (min {per_step[name]['ms_min']:.2f}; warm-up {tw.seconds:.1f}s)", flush=True)
    ref = outputs.get("eager")
    for name, out in outputs.items():
        v = velocity(out, x1)
        if ref is not None:
            v_ref = velocity(ref, x1)
            per_step[name]["velocity_max_abs_diff_vs_eager"] = (v - v_ref).abs().max().item()
            per_step[name]["velocity_rel_rms_diff_vs_eager"] = rel_rms(v, v_ref)
        if v_fp32 is not None: per_step[name]["velocity_rel_rms_diff_vs_fp32"] = rel_rms(v, v_fp32)
    results["per_step"] = per_step
    for name, r in per_step.items():
        print(f"[{name:10s}] guided velocity vs eager: rel RMS {r.get('velocity_rel_rms_diff_vs_eager', float('nan')):.2e}; "
              f"vs float32: {r.get('velocity_rel_rms_diff_vs_fp32', float('nan')):.2e}", flush=True)
    best = min((k for k in per_step if k != "public"), key=lambda k: per_step[k]["ms"])
    results["best_path"] = best
    profiled = args.profile_path if args.profile_path in step_fns else best
    set_fused(fused_of[profiled])

    if (args.profile or args.profile_path) and cuda:
        profiled_fn = step_fns[profiled]
        results["profiled_path"] = profiled
        print(f"kernel profile of {profiled}:", flush=True)
        from torch.profiler import ProfilerActivity, profile
        with torch.no_grad(), profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(3): profiled_fn(*x1)
            torch.cuda.synchronize()
        cats = {"gemm": 0.0, "attention": 0.0, "other": 0.0}
        for ev in prof.key_averages():
            name, us = ev.key.lower(), ev.self_device_time_total
            if any(k in name for k in ("gemm", "cutlass", "sm90_xmma", "nvjet", "matmul", "cublas")): cats["gemm"] += us
            elif any(k in name for k in ("flash", "fmha", "attention", "cudnn")): cats["attention"] += us
            else: cats["other"] += us
        results["profile_ms_per_step"] = {k: v / 3e3 for k, v in cats.items()}
        print("kernel time per step (ms):", {k: round(v / 3e3, 2) for k, v in cats.items()}, flush=True)
        print(prof.key_averages().table(sort_by="self_device_time_total", row_limit=12, max_name_column_width=70), flush=True)
    best_fn = step_fns[best]
    set_fused(fused_of[best])

    # a full candidate: args.steps steps on PartCrafter's schedule, DiT time only; also peak memory
    sched = partcrafter_scheduler()
    ts = set_partcrafter_timesteps(sched, args.steps, device=device)
    sig = sched.sigmas.to(device)

    def sample(fn, batch, gen_seed=2):
        g = torch.Generator(device).manual_seed(gen_seed)
        lat = torch.randn(batch, P, tokens, cfg.in_channels, generator=g, device=device)
        _, _, _, context, part_ids = inputs(batch)
        for i, t in enumerate(ts):
            lat = fn(lat, t, sig[i + 1] - sig[i], context, part_ids)
        return lat

    with torch.no_grad():
        if cuda: torch.cuda.reset_peak_memory_stats(device)
        with timer() as tc: lat_best = sample(best_fn, 1)
        if cuda: results["peak_memory_gib_sampling"] = torch.cuda.max_memory_allocated(device) / 2**30
        results["dit_s_per_candidate"] = tc.seconds
        if "eager" in step_fns and best != "eager":
            set_fused(False)
            with timer() as te: lat_eager = sample(step_fns["eager"], 1)
            set_fused(fused_of[best])
            results["dit_s_per_candidate_eager"] = te.seconds
            results["final_latents_max_abs_diff_vs_eager"] = (lat_best - lat_eager).abs().max().item()
            results["final_latents_rel_rms_diff_vs_eager"] = rel_rms(lat_best, lat_eager)
        # several seeds in one forward
        if args.seeds > 1:
            xb = inputs(args.seeds)
            for _ in range(args.warmup): best_fn(*xb)
            times = []
            for _ in range(args.iters):
                with timer() as tt: best_fn(*xb)
                times.append(tt.seconds)
            ms_b = 1e3 * statistics.median(times)
            results["batched_seeds"] = dict(seeds=args.seeds, ms_per_step=ms_b,
                                            throughput_gain=args.seeds * per_step[best]["ms"] / ms_b)
    anchor, kind = anchor_for(results["gpu"])
    where = f"on an {kind}, earlier run" if anchor else ""
    if "public" in per_step: anchor, where = per_step["public"]["ms"], "this run, same GPU"
    if anchor:
        results["anchor_ms_per_step"], results["anchor_source"] = anchor, where
        for name, r in per_step.items():
            r["speedup_vs_public"] = anchor / r["ms"]
            print(f"[{name:10s}] {r['ms']:7.2f} ms/step = {anchor / r['ms']:.2f}x the public implementation ({anchor:.1f} ms, {where}); "
                  f"error vs float32 {r.get('velocity_rel_rms_diff_vs_fp32', float('nan')):.2e}", flush=True)
    print(f"best path {best}: {per_step[best]['ms']:.2f} ms/step; DiT {results['dit_s_per_candidate']:.2f} s per {args.steps}-step candidate", flush=True)
    if "batched_seeds" in results:
        bs = results["batched_seeds"]
        print(f"{bs['seeds']} seeds batched: {bs['ms_per_step']:.1f} ms/step, throughput x{bs['throughput_gain']:.2f}", flush=True)

    # mesh extraction of the sampled parts
    if not args.skip_mesh:
        with torch.device(device):
            torch.manual_seed(0)
            vae = TripoSGVAEModel(**vae_config(args.config)).to(dtype).eval()
        g = torch.Generator().manual_seed(0)
        centres, radii = torch.rand(P, 3, generator=g) - 0.5, 0.15 + 0.3 * torch.rand(P, generator=g)
        mesh = dict(octree_depth=args.octree_depth, coarse_depth=args.coarse_depth)
        with torch.no_grad():
            if cuda: torch.cuda.reset_peak_memory_stats(device)
            with timer() as tm:
                tokens_all = vae.latent_tokens(lat_best[0])
                smooth = []
                for j in range(P):
                    pt, c, r = tokens_all[j:j + 1], centres[j].to(device), float(radii[j])
                    fn = lambda q: vae.query(pt, q[None])[0].float() * 0 + (r - (q - c).norm(dim=-1))
                    m, st = extract_mesh(fn, 1.005, args.octree_depth, args.coarse_depth, device=device, return_stats=True)
                    smooth.append(dict(st, faces=len(m.faces)))
            mesh.update(smooth_s_total=tm.seconds, smooth_s_per_part=tm.seconds / P,
                        smooth_queries_per_part=[s_["num_queries"] for s_ in smooth], smooth_faces=[s_["faces"] for s_ in smooth])
            rough = []
            with timer() as tr:
                for j in range(min(args.random_mesh_parts, P)):
                    pt = tokens_all[j:j + 1]
                    m, st = extract_mesh(lambda q: vae.query(pt, q[None])[0], 1.005, args.octree_depth, args.coarse_depth,
                                         device=device, return_stats=True)
                    rough.append(dict(st, faces=len(m.faces)))
            if rough: mesh.update(random_weights_s_per_part=tr.seconds / len(rough), random_weights_queries=[r_["num_queries"] for r_ in rough])
            q = torch.rand(262_144, 3, device=device) * 2 - 1
            vae.query(tokens_all[:1], q[None])
            with timer() as tq: vae.query(tokens_all[:1], q[None])
            mesh["decoder_queries_per_s"] = q.shape[0] / tq.seconds
        if cuda: mesh["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        results["mesh"] = mesh
        dit_s = results["dit_s_per_candidate"]
        results["split"] = dict(dit_s=dit_s, mesh_s=tm.seconds, mesh_share=tm.seconds / (tm.seconds + dit_s))
        print(f"mesh extraction, smooth parts: {tm.seconds / P:.3f} s/part ({statistics.mean(mesh['smooth_queries_per_part']):,.0f} queries/part); "
              f"decoder {mesh['decoder_queries_per_s'] / 1e6:.1f} M queries/s", flush=True)
        if rough: print(f"mesh extraction, random weights as is (worst case): {mesh['random_weights_s_per_part']:.2f} s/part, "
                        f"{rough[0]['num_queries']:,} queries", flush=True)
        print(f"split per candidate ({P} parts): DiT {dit_s:.2f} s, meshes {tm.seconds:.2f} s", flush=True)

    print(json.dumps(results, indent=1, default=str))
    if args.json: Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return results


if __name__ == "__main__":
    main()
