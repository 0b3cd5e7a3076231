#!/usr/bin/env python
"""Speed of the penetration scorer against the real TAGAC reference, measured in the same run.

The reference is TAGAC's `compute_penetration_level` as published (`src/utils_giga.py`): per mesh a `pysdf.SDF` signed
distance (positive inside) at the 40^3 points `linspace(0, 0.3 - 0.3/40, 40)` per axis, `tsdf = (sdf/trunc + 1)/2` with
`trunc = 0.03` and `tsdf := 0` where |sdf| >= trunc, a point inside where `tsdf > 0.5`, and
`level = clip(1 - N_inside(merged) / sum_i N_inside(part_i), 0, 1)` with `merged` the concatenation of the parts.
`tagac_reference_pysdf` below is that definition written out. pysdf is optional:

    pip install -e ".[bench]"          # Debian/Ubuntu: apt-get install -y libeigen3-dev first
    # pysdf's build does not recognise Eigen 3.4.0 by itself; then: CPLUS_INCLUDE_PATH=/usr/include/eigen3 pip install pysdf

Scenes: (a) README's 6-part scene (9,228 triangles), (b) six overlapping 5,120-triangle spheres, (c) five dense parts
(6k-82k triangles each: a sphere, a marching-cubes torus, a subdivided box, a capsule, a subdivided cylinder).
Each scene is scored by the reference and by this package (`volume` at 40^3, 64^3 and 128^3, `tagac` at 40^3) in one
process per thread setting; on one thread also by the package's torch code alone (`kernel_disabled()`: what runs
where no C compiler is found; the default CPU path is the C kernels of `cpu_kernels`, and the script prints which
one it found): one thread (OMP/MKL_NUM_THREADS=1, torch.set_num_threads(1), pysdf n_threads=1) and all
cores (pysdf's default threads; torch's threads = cores, of which this scorer's default rule takes one for problems of
this size, so two more rows force `num_threads` = cores). Times are the best of `--repeats` calls after a warm-up
(other jobs on a shared machine only add time), as wall seconds and as CPU seconds of the process (all threads; on a
busy machine the steadier measure of the work); "vs ref" is the reference's time over ours, in the same process
and thread setting.

The second table times `volume` 64^3 calls of scene (a) (median of `--repeats`) while N other processes of the
same job score the same scene in a loop: "torch default" gives every process torch's default threads (one per core),
"set_worker_threads" gives each process its share (`set_worker_threads(N + 1)`) and leaves the call's own rule on
(one thread for small problems).

`--trimesh-stand-in` adds the older comparison: the same TAGAC definition on trimesh's exact signed distance
(`tagac_reference_trimesh`, about 90 s per scene); it is a stand-in, not the reference.

    python benchmarks/bench_penetration.py                      # everything, about 3 minutes on 2 cores
    python benchmarks/bench_penetration.py --scenes a b --repeats 3 --busy 1
    python benchmarks/bench_penetration.py --device cuda        # adds the GPU batch figures
"""
import argparse, json, os, statistics, subprocess, sys, time

import numpy as np

SCENES = {'a': "README's 6-part scene", 'b': 'six 5,120-triangle spheres', 'c': 'five dense parts (6k-82k triangles)'}
OURS = [('volume', 40), ('volume', 64), ('volume', 128), ('tagac', 40)]


# ---------------------------------------------------------------- scenes
def readme_scene(seed: int = 0):
    "Six overlapping parts of a few thousand triangles in the 0.3 m workspace (spheres, capsules, boxes, cylinders)."
    import trimesh
    rng = np.random.default_rng(seed)
    parts = [trimesh.creation.icosphere(subdivisions=4, radius=0.045), trimesh.creation.capsule(height=0.08, radius=0.03, count=[32, 32]),
             trimesh.creation.box(extents=[0.08, 0.06, 0.05]), trimesh.creation.cylinder(radius=0.035, height=0.07, sections=64),
             trimesh.creation.icosphere(subdivisions=3, radius=0.04), trimesh.creation.annulus(r_min=0.02, r_max=0.04, height=0.03, sections=64)]
    centres = [[0.10, 0.12, 0.10], [0.16, 0.13, 0.11], [0.13, 0.19, 0.09], [0.20, 0.19, 0.12], [0.11, 0.20, 0.16], [0.18, 0.10, 0.17]]
    for p, c in zip(parts, centres): p.apply_translation(np.asarray(c) + rng.uniform(-0.005, 0.005, 3))
    return parts


def six_spheres(seed: int = 0, radius: float = 0.05):
    "Six icospheres (subdivision 4, 5,120 triangles) on a ring, each overlapping its neighbours."
    import trimesh
    rng = np.random.default_rng(seed)
    ang = np.arange(6) * np.pi / 3
    centres = np.stack([0.15 + 0.06 * np.cos(ang), 0.15 + 0.06 * np.sin(ang), 0.15 + 0.02 * np.sin(2 * ang)], 1) + rng.uniform(-0.004, 0.004, (6, 3))
    return [trimesh.creation.icosphere(subdivisions=4, radius=radius).apply_translation(c) for c in centres]


def dense_scene():
    "Five overlapping dense parts: 81,920-triangle sphere, 21,728-triangle marching-cubes torus, 12,288 box, 8,192 capsule, 6,144 cylinder."
    import trimesh
    from skimage.measure import marching_cubes
    n = 72; x = np.linspace(-1, 1, n)
    X, Y, Z = np.meshgrid(x, x, x, indexing='ij')
    v, f, _, _ = marching_cubes((np.sqrt(X ** 2 + Y ** 2) - 0.6) ** 2 + Z ** 2 - 0.25 ** 2, 0, spacing=(2 / (n - 1),) * 3)
    torus = trimesh.Trimesh((v - 1) * 0.06, f)
    box = trimesh.creation.box(extents=[0.07, 0.05, 0.06])
    for _ in range(5): box = box.subdivide()
    cyl = trimesh.creation.cylinder(radius=0.035, height=0.07, sections=96).subdivide().subdivide()
    parts = [trimesh.creation.icosphere(subdivisions=6, radius=0.055), torus, box, trimesh.creation.capsule(height=0.08, radius=0.03, count=[64, 64]), cyl]
    centres = np.array([[0.12, 0.15, 0.15], [0.17, 0.15, 0.15], [0.15, 0.20, 0.13], [0.19, 0.11, 0.17], [0.11, 0.11, 0.12]])
    for p, c in zip(parts, centres + [0.0013, 0.0021, 0.0008]): p.apply_translation(c)   # no face on a sample plane (ties)
    return parts


def make_scene(key): return {'a': readme_scene, 'b': six_spheres, 'c': dense_scene}[key]()


# ---------------------------------------------------------------- the reference
def tagac_reference_pysdf(meshes, size: float = 0.3, resolution: int = 40, n_threads: int | None = None) -> float:
    "TAGAC's PenetrationLevel on pysdf, as published; `n_threads=None` is pysdf's default (all cores)."
    import pysdf, trimesh
    lin = np.linspace(0, size - size / resolution, resolution, dtype=np.float32)
    points = np.stack(np.meshgrid(lin, lin, lin, indexing='ij'), -1).reshape(-1, 3)
    trunc = 4 * size / resolution

    def inside_points(mesh) -> int:
        sdf_fn = pysdf.SDF(np.asarray(mesh.vertices, np.float32), np.asarray(mesh.faces, np.uint32))
        sdf = sdf_fn(points) if n_threads is None else sdf_fn(points, n_threads=n_threads)
        tsdf = (sdf / trunc + 1) / 2
        tsdf[(sdf >= trunc) | (sdf <= -trunc)] = 0
        return int((tsdf > 0.5).sum())

    merged = inside_points(trimesh.util.concatenate(meshes))
    total = sum(inside_points(m) for m in meshes)
    return float(np.clip(1 - merged / total, 0, 1)) if total > 0 else 0.0


def timeit(fn, repeats: int, stat=min):
    """`stat` (best by default: other jobs on the machine only ever add time) of the wall seconds and of the CPU seconds
    of this process (all its threads) of `repeats` calls after a warm-up, and the warm-up's result."""
    out = fn(); wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time(); fn()
        wall.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    return stat(wall), stat(cpu), out


# ---------------------------------------------------------------- worker processes
def speed_worker(a):
    "One thread setting: time the reference and this scorer on every scene, one JSON line per measurement."
    import torch
    from partcrafter_dpo.penetration import score_scene, tagac_reference_trimesh
    from partcrafter_dpo.cpu_kernels import kernel_disabled
    threads = a.threads
    torch.set_num_threads(threads)
    n_sdf = 1 if threads == 1 else None
    try: import pysdf  # noqa: F401
    except ImportError: pysdf = None
    for key in a.scenes:
        scene = make_scene(key)
        emit = lambda **kw: print(json.dumps(dict(scene=key, threads=threads, **kw)), flush=True)
        if pysdf is not None:
            t, c, lvl = timeit(lambda: tagac_reference_pysdf(scene, n_threads=n_sdf), a.repeats)
            emit(method='reference: TAGAC on pysdf, 40^3', seconds=t, cpu=c, score=lvl, ref=True)
        if a.trimesh_stand_in and threads == 1:
            t, c = time.perf_counter(), time.process_time(); lvl, _ = tagac_reference_trimesh(scene)
            emit(method='stand-in: TAGAC definition on trimesh, 40^3', seconds=time.perf_counter() - t, cpu=time.process_time() - c, score=lvl)
        for method, res in OURS:
            t, c, r = timeit(lambda: score_scene(scene, method=method, resolution=res), a.repeats)
            emit(method=f'this scorer, {method}, {res}^3', seconds=t, cpu=c, score=r.scene_penetration)
        if threads == 1:                                   # the same calls on the torch code (no C kernel)
            with kernel_disabled():
                for method, res in OURS:
                    t, c, r = timeit(lambda: score_scene(scene, method=method, resolution=res), a.repeats)
                    emit(method=f'torch code only, {method}, {res}^3', seconds=t, cpu=c, score=r.scene_penetration)
        if threads > 1:                                    # the rows above ran on one thread (the default rule); forced:
            for method, res in (('volume', 128), ('tagac', 40)):
                t, c, r = timeit(lambda: score_scene(scene, method=method, resolution=res, num_threads=threads), a.repeats)
                emit(method=f'this scorer, {method}, {res}^3, num_threads={threads}', seconds=t, cpu=c, score=r.scene_penetration)


def busy_worker(a):
    "A scoring shard that never stops: scene (a), volume at 64^3, with the given thread rule."
    import torch
    from partcrafter_dpo.penetration import score_scene, set_worker_threads
    if a.rule == 'default': torch.set_num_threads(os.cpu_count()); n = os.cpu_count()
    else: set_worker_threads(a.procs); n = None
    scene = readme_scene()
    while True: score_scene(scene, resolution=64, num_threads=n)


def contention_worker(a):
    "Time scene (a) at 64^3 beside `busy` processes of the same rule."
    import torch
    from partcrafter_dpo.penetration import score_scene, set_worker_threads, _auto_threads
    scene = readme_scene()
    env = dict(os.environ)
    for rule in ('default', 'policy'):
        for busy in [0] + a.busy:
            procs = [subprocess.Popen([sys.executable, __file__, '--_worker', 'busy', '--rule', rule, '--procs', str(busy + 1)], env=env)
                     for _ in range(busy)]
            try:
                if rule == 'default': torch.set_num_threads(os.cpu_count()); n = os.cpu_count()
                else: n = None; set_worker_threads(busy + 1)
                time.sleep(2.0 if busy else 0.0)                    # let the shards start scoring
                t, _, r = timeit(lambda: score_scene(scene, resolution=64, num_threads=n), a.repeats, statistics.median)
            finally:
                for p in procs: p.terminate()
                for p in procs: p.wait()
            used = n or _auto_threads(None, torch.device('cpu'), len(scene) * 64 ** 3) or torch.get_num_threads()
            print(json.dumps(dict(rule=rule, busy=busy, seconds=t, threads=used)), flush=True)


def run_worker(args, threads=None):
    "Run this script as a worker; `threads` pins OMP/MKL threads, None leaves them to the process (no override)."
    env = {k: v for k, v in os.environ.items() if k not in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS')}
    if threads: env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    p = subprocess.run([sys.executable, __file__] + args, env=env, capture_output=True, text=True)
    if p.returncode != 0: sys.exit(f"worker {args} failed:\n{p.stderr[-4000:]}")
    return [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{')]


# ---------------------------------------------------------------- report
def speed_table(rows):
    print(f"\n{'scene':<6}{'threads':>8}  {'method':<46}{'wall s':>9}{'cpu s':>9}{'score':>9}{'vs ref, wall':>14}{'vs ref, cpu':>13}")
    for key in dict.fromkeys(r['scene'] for r in rows):
        for threads in dict.fromkeys(r['threads'] for r in rows):
            sub = [r for r in rows if r['scene'] == key and r['threads'] == threads]
            ref = next((r for r in sub if r.get('ref')), None)
            for r in sub:
                ratios = ('', '') if ref is None or r is ref else (f"{ref['seconds'] / r['seconds']:.1f}x", f"{ref['cpu'] / r['cpu']:.1f}x")
                print(f"({key}){'':<3}{threads:>8}  {r['method']:<46}{r['seconds']:>9.4f}{r['cpu']:>9.4f}{r['score']:>9.4f}{ratios[0]:>14}{ratios[1]:>13}")
            if ref is not None:
                tg = next(r for r in sub if 'tagac' in r['method'] and r['method'].startswith('this'))
                print(f"{'':<16}tagac - reference score: {tg['score'] - ref['score']:+.4f}")


TARGETS = [('this scorer, volume, 64^3', 50), ('this scorer, volume, 128^3', 5), ('this scorer, tagac, 40^3', 1)]

def target_lines(rows):
    "Each speed target (wall-time ratio to the reference in the same process, one thread) per scene: met or missed."
    print("\ntargets, one thread (the reference's time over ours, same process):")
    for method, goal in TARGETS:
        parts = []
        for key in dict.fromkeys(r['scene'] for r in rows):
            sub = {r['method']: r for r in rows if r['scene'] == key and r['threads'] == 1}
            ref = next((r for r in sub.values() if r.get('ref')), None)
            if ref is None or method not in sub: continue
            ratio = ref['seconds'] / sub[method]['seconds']
            parts.append(f"({key}) {ratio:.1f}x {'met' if ratio >= goal else 'MISSED'}")
        if parts: print(f"  {method.removeprefix('this scorer, ')} >= {goal}x: " + ', '.join(parts))


def gpu_batch(a):
    "Scenes per second of one batched `score_scenes` call on the GPU (host work included), against the CPU's, same scores."
    import torch
    from partcrafter_dpo.penetration import score_scenes
    dev = torch.device(a.device)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == 'cuda' else (lambda: None)
    batch = [readme_scene(s) for s in range(a.batch)]
    print(f"\nGPU batch: {a.batch} scenes like (a), one score_scenes call (checks, grids, host-to-device copy and reports included)")
    for res in (64, 128):
        score_scenes(batch[:8], resolution=res, device=dev); sync()
        times = []
        for _ in range(3):
            t = time.perf_counter(); gpu_r = score_scenes(batch, resolution=res, device=dev); sync(); times.append(time.perf_counter() - t)
        t = min(times)
        t0 = time.perf_counter(); cpu_r = score_scenes(batch, resolution=res, num_threads=os.cpu_count()); t_cpu = time.perf_counter() - t0
        diff = max(abs(g.scene_penetration - c.scene_penetration) for g, c in zip(gpu_r, cpu_r))
        same = sum(g.to_dict() == c.to_dict() for g, c in zip(gpu_r, cpu_r))
        print(f"{a.device} {res}^3: {a.batch / t:,.0f} scenes/s ({t:.3f} s); cpu, {os.cpu_count()} threads: {a.batch / t_cpu:,.0f} scenes/s; "
              f"max |gpu - cpu| scene score {diff:.1e}, identical reports {same}/{a.batch}"
              + (f"; target 1,000 scenes/s: {'met' if a.batch / t >= 1000 else 'missed'}" if res == 64 else ''), flush=True)
    if dev.type == 'cuda': print(f"peak GPU memory {torch.cuda.max_memory_allocated(dev) / 2 ** 30:.2f} GiB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--scenes', nargs='+', default=list(SCENES), choices=list(SCENES))
    ap.add_argument('--repeats', type=int, default=7, help='timed calls per measurement (the best one counts)')
    ap.add_argument('--threads', nargs='+', type=int, default=None, help='thread settings (default: 1 and all cores)')
    ap.add_argument('--busy', nargs='*', type=int, default=None, help='busy processes beside the timed call (default: 1 and cores); none to skip')
    ap.add_argument('--trimesh-stand-in', action='store_true', help='also time the trimesh stand-in (about 90 s per scene)')
    ap.add_argument('--device', default='cpu', help='cuda: add the GPU batch figures')
    ap.add_argument('--batch', type=int, default=256, help='scenes in the GPU batch')
    ap.add_argument('--_worker', choices=['speed', 'busy', 'contention'], help=argparse.SUPPRESS)
    ap.add_argument('--rule', help=argparse.SUPPRESS); ap.add_argument('--procs', type=int, help=argparse.SUPPRESS)
    ap.add_argument('--_threads', dest='threads_one', type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    cores = os.cpu_count()
    if a._worker == 'speed': a.threads = a.threads_one; return speed_worker(a)
    if a._worker == 'busy': return busy_worker(a)
    if a.busy is None: a.busy = sorted({1, cores})
    if a._worker == 'contention': return contention_worker(a)

    try: import pysdf  # noqa: F401
    except ImportError: print('pysdf is not installed: no reference column. Install it with  pip install -e ".[bench]"  (see this file\'s docstring).')
    import torch
    from partcrafter_dpo.cpu_kernels import kernel_status
    print(f"{cores} cores, torch {torch.__version__}, load average {os.getloadavg()[0]:.1f} at start")
    print(f"CPU scorer: {kernel_status()}")
    for k in a.scenes: print(f"({k}) {SCENES[k]}: {sum(len(m.faces) for m in make_scene(k))} triangles")
    rows = []
    common = ['--scenes', *a.scenes, '--repeats', str(a.repeats)] + (['--trimesh-stand-in'] if a.trimesh_stand_in else [])
    for n in a.threads or sorted({1, cores}):
        rows += run_worker(['--_worker', 'speed', '--_threads', str(n)] + common, threads=n)
    speed_table(rows)
    target_lines(rows)
    if a.busy:
        res = run_worker(['--_worker', 'contention', '--repeats', str(a.repeats), '--busy', *map(str, a.busy)])
        print(f"\nscene (a), volume 64^3, beside busy scoring processes ({cores} cores)")
        print(f"{'busy processes':>15}  {'torch default (s)':>18}{'threads':>8}  {'set_worker_threads (s)':>23}{'threads':>8}{'ratio':>8}")
        for busy in [0] + a.busy:
            d, p = (next(r for r in res if r['rule'] == rule and r['busy'] == busy) for rule in ('default', 'policy'))
            print(f"{busy:>15}  {d['seconds']:>18.4f}{d['threads']:>8}  {p['seconds']:>23.4f}{p['threads']:>8}{d['seconds'] / p['seconds']:>7.1f}x")
    print(f"\nload average {os.getloadavg()[0]:.1f} at end")
    if a.device != 'cpu': gpu_batch(a)


if __name__ == '__main__': main()
