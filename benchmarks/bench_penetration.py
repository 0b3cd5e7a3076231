#!/usr/bin/env python
"""Speed of the penetration scorer against plain references, measured in the same run.

One 6-part scene inside the 0.3 m workspace is scored by
  (a) a plain TAGAC reimplementation on trimesh's signed distance at 40^3 (`tagac_reference_trimesh`),
  (b) the volume definition with `trimesh.Trimesh.contains` on the 64^3 cell centres, one call per part,
  (c) this package's scorer: `volume` at 40^3, 64^3, 128^3 and `tagac` at 40^3,
and the ratios against (a) are printed. With `--device cuda` it also scores a batch of `--batch` scenes at 64^3 and
prints scenes per second.

    python benchmarks/bench_penetration.py                 # CPU
    python benchmarks/bench_penetration.py --device cuda   # adds the GPU batch figures
"""
import argparse, statistics, time

import numpy as np
import torch
import trimesh

from partcrafter_dpo.penetration import score_scene, score_scenes, tagac_reference_trimesh, Grid


def six_part_scene(seed: int = 0):
    "Six overlapping parts of a few thousand triangles in the 0.3 m workspace (spheres, capsules, boxes, cylinders)."
    rng = np.random.default_rng(seed)
    parts = [trimesh.creation.icosphere(subdivisions=4, radius=0.045), trimesh.creation.capsule(height=0.08, radius=0.03, count=[32, 32]),
             trimesh.creation.box(extents=[0.08, 0.06, 0.05]), trimesh.creation.cylinder(radius=0.035, height=0.07, sections=64),
             trimesh.creation.icosphere(subdivisions=3, radius=0.04), trimesh.creation.annulus(r_min=0.02, r_max=0.04, height=0.03, sections=64)]
    centres = [[0.10, 0.12, 0.10], [0.16, 0.13, 0.11], [0.13, 0.19, 0.09], [0.20, 0.19, 0.12], [0.11, 0.20, 0.16], [0.18, 0.10, 0.17]]
    for p, c in zip(parts, centres): p.apply_translation(np.asarray(c) + rng.uniform(-0.005, 0.005, 3))
    return parts


def contains_volume_reference(meshes, resolution: int = 64):
    "(b): the volume definition with trimesh's ray-based `contains` on the fitted grid's cell centres."
    g = Grid.fit(meshes, resolution)
    c = [g.centers(a) for a in range(3)]
    pts = np.stack(np.meshgrid(*c, indexing='ij'), -1).reshape(-1, 3)
    occ = np.stack([m.contains(pts) for m in meshes])
    count = occ.sum(0)
    return 1 - (count > 0).sum() / occ.sum()


def timeit(fn, repeats: int = 3, sync=None):
    "Median seconds of `repeats` calls after one warm-up."
    fn(); times = []
    for _ in range(repeats):
        if sync: sync()
        t = time.perf_counter(); fn()
        if sync: sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--batch', type=int, default=256, help='scenes in the GPU batch')
    ap.add_argument('--skip-reference', action='store_true', help='skip (a) and (b), the slow references (minutes)')
    a = ap.parse_args()
    scene = six_part_scene()
    print(f"scene: 6 parts, {sum(len(m.faces) for m in scene)} triangles; torch {torch.__version__}, {torch.get_num_threads()} threads")
    rows = []
    if not a.skip_reference:
        t = time.perf_counter(); lvl, _ = tagac_reference_trimesh(scene); t_ref = time.perf_counter() - t
        rows.append(('(a) TAGAC reference, trimesh signed distance, 40^3', t_ref, lvl))
        t = time.perf_counter(); v = contains_volume_reference(scene); t_b = time.perf_counter() - t
        rows.append(('(b) volume via trimesh.contains per part, 64^3', t_b, v))
    for res in (40, 64, 128):
        r = score_scene(scene, resolution=res)
        rows.append((f'(c) this scorer, volume, {res}^3, cpu', timeit(lambda: score_scene(scene, resolution=res)), r.scene_penetration))
    r = score_scene(scene, method='tagac')
    rows.append(('(c) this scorer, tagac, 40^3, cpu', timeit(lambda: score_scene(scene, method='tagac')), r.scene_penetration))
    t_ref = rows[0][1] if not a.skip_reference else None
    print(f"{'method':<56}{'seconds':>10}{'scene score':>13}{'speed-up vs (a)':>17}")
    for name, t, s in rows:
        print(f"{name:<56}{t:>10.4f}{s:>13.4f}{(t_ref / t if t_ref else float('nan')):>16.1f}x")

    if a.device != 'cpu':
        dev = torch.device(a.device)
        sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == 'cuda' else None
        batch = [six_part_scene(s) for s in range(a.batch)]
        cpu_small = batch[:16]
        t_cpu = timeit(lambda: score_scenes(cpu_small, resolution=64), repeats=1)
        for res in (64, 128):
            t = timeit(lambda: score_scenes(batch, resolution=res, device=dev), repeats=3, sync=sync)
            print(f"{a.device}: {a.batch} scenes at {res}^3 in {t:.3f} s = {a.batch / t:.0f} scenes/s"
                  + (f"  (cpu: {16 / t_cpu:.1f} scenes/s, ratio {a.batch / t / (16 / t_cpu):.0f}x)" if res == 64 else ''))
        if dev.type == 'cuda': print(f"peak GPU memory {torch.cuda.max_memory_allocated(dev) / 2**30:.2f} GiB")
        gpu_r = score_scenes(batch[:4], resolution=64, device=dev); cpu_r = score_scenes(batch[:4], resolution=64)
        print("max |gpu - cpu| scene score over 4 scenes:", max(abs(g.scene_penetration - c.scene_penetration) for g, c in zip(gpu_r, cpu_r)))


if __name__ == '__main__': main()
