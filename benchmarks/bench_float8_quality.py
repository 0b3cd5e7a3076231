#!/usr/bin/env python
"""What float8 sampling costs in shape and penetration, on trained weights: the same scenes, seeds and settings sampled
with the bf16 DiT and with its float8 twin (`PartCrafterDiTModel.enable_float8_inference`), then the paired changes
float8 - bf16 of penetration, Chamfer and F-score (as `evaluate` reports them), and the distance between the two paths'
final latents relative to the distance between two seeds of the same path (how far float8 moves a sample, against how
far a new seed does). The per-step error against float32 is in `bench_generation.py`; this is its end-to-end effect.

    partcrafter-dpo synth --out data/heldout --scenes 32 --seed 11
    python benchmarks/bench_float8_quality.py --data data/heldout --device cuda          # bundled small model
    python benchmarks/bench_float8_quality.py --data ... --model /path/to/PartCrafter     # released weights

Several processes can share one GPU: `--shard I/N --records part_I.json` each, then
`python benchmarks/bench_float8_quality.py --merge part_*.json` prints the summary of all of them.
"""
import argparse, copy, json, statistics, time

import numpy as np
import torch

from partcrafter_dpo.evaluation import EvalConfig, paired_statistics, sample_metrics
from partcrafter_dpo.generation import sample_candidates
from partcrafter_dpo.kitchen import MessyKitchenDataset
from partcrafter_dpo.models.pipeline import load_pipeline


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', required=True, help='a messy-kitchen data root (e.g. made by partcrafter-dpo synth)')
    ap.add_argument('--model', default=None, help='a pipeline folder (default: the bundled small model)')
    ap.add_argument('--device', default='cuda'); ap.add_argument('--limit', type=int, default=32)
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    ap.add_argument('--steps', type=int, default=50); ap.add_argument('--octree-depth', type=int, default=7)
    ap.add_argument('--json', default=None)
    ap.add_argument('--shard', default='0/1', help='I/N: this process takes every N-th scene from the I-th')
    ap.add_argument('--records', default=None, help='write the per-sample records here (for --merge)')
    ap.add_argument('--merge', nargs='+', default=None, help='summarise the --records files of several shards and exit')
    a = ap.parse_args()
    if a.merge:
        parts = [json.load(open(f)) for f in a.merge]
        merged = dict(parts[0]['run'], scenes=sum(q['run']['scenes'] for q in parts))
        merged['seconds_per_candidate'] = {k: statistics.median(x for q in parts for x in q['secs'][k]) for k in ('bf16', 'float8')}
        return summarise({k: [r for q in parts for r in q['rec'][k]] for k in ('bf16', 'float8')},
                         [x for q in parts for x in q['moved']], [x for q in parts for x in q['seed_gap']], merged, a.json)
    shard, shards = (int(x) for x in a.shard.split('/'))
    device = torch.device(a.device)
    pipe = load_pipeline(a.model, device, torch.bfloat16)
    bf16 = pipe.transformer
    f8 = copy.deepcopy(bf16).enable_float8_inference()
    cfg = EvalConfig(seeds=tuple(a.seeds), num_inference_steps=a.steps, octree_depth=a.octree_depth, tagac=False, shape_indicators=False)
    ds = MessyKitchenDataset(a.data)
    ids = ds.scene_ids[:a.limit][shard::shards]
    rec = {'bf16': [], 'float8': []}
    moved, seed_gap, secs = [], [], {'bf16': [], 'float8': []}
    for sid in ids:
        scene = ds[sid]
        emb = pipe.encode_image(scene.image).float()
        lat = {}
        for name, model in (('bf16', bf16), ('float8', f8)):
            pipe.transformer = model
            if device.type == 'cuda': torch.cuda.synchronize()
            t0 = time.perf_counter()
            lat[name] = sample_candidates(pipe, emb, scene.num_parts, cfg.seeds, cfg.num_inference_steps, cfg.guidance_scale).float()
            if device.type == 'cuda': torch.cuda.synchronize()
            secs[name].append((time.perf_counter() - t0) / len(cfg.seeds))
            meshes = pipe.decode_latents(lat[name].to(pipe.dtype), octree_depth=cfg.octree_depth, coarse_depth=cfg.coarse_depth)
            rec[name] += [sample_metrics(m, scene.parts, cfg) for m in meshes]
        pipe.transformer = bf16
        moved += [(lat['float8'][i] - lat['bf16'][i]).norm().item() for i in range(len(cfg.seeds))]
        if len(cfg.seeds) > 1: seed_gap.append((lat['bf16'][1] - lat['bf16'][0]).norm().item())
        print(f"{sid}: penetration bf16 {statistics.mean(r.get('scene_penetration', float('nan')) for r in rec['bf16'][-len(cfg.seeds):]):.4f} "
              f"float8 {statistics.mean(r.get('scene_penetration', float('nan')) for r in rec['float8'][-len(cfg.seeds):]):.4f}", flush=True)
    run = dict(scenes=len(ids), seeds=list(cfg.seeds), steps=cfg.num_inference_steps, model=str(a.model or 'bundled small model'),
               seconds_per_candidate={k: statistics.median(v) for k, v in secs.items()})
    if a.records:
        with open(a.records, 'w') as f: json.dump(dict(run=run, rec=rec, moved=moved, seed_gap=seed_gap, secs=secs), f, default=float)
    summarise(rec, moved, seed_gap, run, a.json)


def summarise(rec, moved, seed_gap, run, json_path=None):
    "Paired changes float8 - bf16 over all scored sample pairs, printed and returned (and written to `json_path`)."
    out = dict(run, latent_shift_float8_vs_bf16=statistics.mean(moved), latent_gap_between_seeds=statistics.mean(seed_gap) if seed_gap else None)
    ok = [i for i, (b, f) in enumerate(zip(rec['bf16'], rec['float8'])) if b['status'] == f['status'] == 'scored']
    out['failed'] = {k: sum(r['status'] != 'scored' for r in v) for k, v in rec.items()}
    for key in ('scene_penetration', 'chamfer', 'fscore'):
        b = [rec['bf16'][i][key] for i in ok]; f = [rec['float8'][i][key] for i in ok]
        s = paired_statistics(b, f)
        out[key] = dict(bf16=s['mean_before'], float8=s['mean_after'], change=-s['mean_relative_reduction'],
                        change_ci95=[-x for x in s['mean_relative_reduction_ci95'][::-1]], wilcoxon_p=s['wilcoxon_p'])
        print(f"{key:>18}: bf16 {s['mean_before']:.4f}  float8 {s['mean_after']:.4f}  change {-100 * s['mean_relative_reduction']:+.1f}% "
              f"[{-100 * s['mean_relative_reduction_ci95'][1]:+.1f}, {-100 * s['mean_relative_reduction_ci95'][0]:+.1f}]  p = {s['wilcoxon_p']:.2g}", flush=True)
    print(f"final latents: float8 moves a sample by {out['latent_shift_float8_vs_bf16']:.2f} (L2), a new seed by "
          f"{out['latent_gap_between_seeds'] or float('nan'):.2f}; {len(ok)} sample pairs scored, failed {out['failed']}", flush=True)
    print(json.dumps(out, indent=1))
    if json_path: open(json_path, 'w').write(json.dumps(out, indent=1))
    return out


if __name__ == '__main__': main()
