#!/usr/bin/env python
"""Data-parallel scaling of `create-data` and `train`: one process against N processes, measured in one run.

    python benchmarks/bench_multi_gpu.py --data ROOT                         # 2 GPUs, bundled model, 32 scenes
    python benchmarks/bench_multi_gpu.py --data ROOT --released-train        # + the released-size DiT (random weights)
    python benchmarks/bench_multi_gpu.py --data ROOT --cpu --scenes 2 --steps 4 --octree-depth 5 --train-steps 4   # smoke test

1. `create-data` on the first `--scenes` scenes, once with one process (all CPU threads) and once with N processes
   (`accelerate launch --multi_gpu`, cores / N CPU threads each: scoring and meshing run on the CPU, and accelerate's
   default of one thread per process costs about a quarter of the speed-up). Checks that the N-process run wrote every
   scene once, each by the process that owns it, with the same candidate scores; prints steady-state scenes/s and the ratio.
2. `train` (`--train-config`, default configs/dpo_small.yaml) on that data: one process with accumulation N x A against N
   processes with accumulation A. Prints seconds per optimiser step, the ratio, peak GPU memory per process, and how far
   the two runs' per-step flow errors and DPO losses drift apart (bf16 rounding only: the batches, noise and timesteps
   are the same).
3. With `--released-train`: the same comparison for a random-weight DiT of the released size with LoRA (configs/
   partcrafter_dpo.yaml) on random 8-part latents, where the GPU work dominates.

On CPU (`--cpu`) processes are started with `torchrun` and `ACCELERATE_USE_CPU=true` (gloo), since
`accelerate launch --cpu` starts one process. Keep NVLink multicast off where the host asks for it (NCCL_NVLS_ENABLE=0).
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def launcher(n, cpu, threads):
    "The command prefix that starts `n` processes of `python -m MODULE`."
    if n == 1: return [sys.executable]
    if cpu: return [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', str(n)]
    return ['accelerate', 'launch', '--multi_gpu', '--num_processes', str(n), '--num_cpu_threads_per_process', str(threads),
            '--mixed_precision', 'no']


def run(cmd, env, log):
    t = time.perf_counter()
    with open(log, 'w') as f: p = subprocess.run(cmd, env=env, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    if p.returncode: sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{Path(log).read_text()[-3000:]}")
    return time.perf_counter() - t


def scene_rate(out):
    "Steady-state scenes/s (first to last finished scene) and {scene: (written_by, {seed: scene_penetration})}."
    metas = sorted(out.glob('*/scene_metadata.json'), key=os.path.getmtime)
    t = [os.path.getmtime(m) for m in metas]
    info = {m.parent.name: (json.loads(m.read_text()).get('written_by'),
                            {p.parent.name: json.loads(p.read_text()).get('scene_penetration') for p in m.parent.glob('[0-9][0-9][0-9]/penetration_analysis.json')})
            for m in metas}
    return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 else float('nan'), info


def step_time(history):
    "Mean seconds per optimiser step after the first (start-up excluded)."
    return (history[-1]['seconds'] - history[0]['seconds']) / (len(history) - 1) if len(history) > 2 else float('nan')


def compare_train(name, h1, h2, n, a):
    e1, e2 = (np.array([[r['model_err_w'], r['model_err_l']] for r in h]) for h in (h1, h2))
    l1, l2 = (np.array([r['loss'] for r in h]) for h in (h1, h2))
    t1, t2 = step_time(h1), step_time(h2)
    mem = lambda h: f"{h[-1]['peak_memory_gib']:.1f}" if 'peak_memory_gib' in h[-1] else '-'
    print(f"{name}: 1 process x accumulation {n * a}: {t1:.3f} s/step, peak {mem(h1)} GiB | {n} processes x {a}: {t2:.3f} s/step, "
          f"peak {mem(h2)} GiB per process | speed-up {t1 / t2:.2f}x (ideal {n}x)")
    print(f"  {len(h1)} steps: flow errors differ by at most {np.abs(e1 - e2).max():.2e}; DPO loss mean |diff| {np.abs(l1 - l2).mean():.4f}, "
          f"last-50 means {l1[-50:].mean():.4f} / {l2[-50:].mean():.4f}")


def released_fixture(root):
    "A random-weight released-size DiT folder and 24 random 8-part scenes of preference data."
    import torch
    from partcrafter_dpo.models.transformer import PartCrafterDiTModel, dit_config
    from partcrafter_dpo.pairs import make_fake_dpo_scene, write_preference_pairs
    torch.manual_seed(0)
    with torch.device('cuda' if torch.cuda.is_available() else 'cpu'): m = PartCrafterDiTModel(**dit_config('released'))
    m.to(torch.bfloat16).save_pretrained(root / 'model' / 'transformer')
    c = m.config
    for k in range(24):
        write_preference_pairs(make_fake_dpo_scene(root / 'dpo', f's{k:03d}', [0.3, 0.1, 0.0, 0.2], num_parts=8, tokens=512,
                                                   channels=c.in_channels, cond_shape=(1370, c.cross_attention_dim), seed=k))
    return root / 'model', root / 'dpo'


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', required=True, help='messy-kitchen data root (e.g. from `partcrafter-dpo synth`)')
    ap.add_argument('--processes', type=int, default=2); ap.add_argument('--scenes', type=int, default=32)
    ap.add_argument('--model', default=None, help='weights folder (default: the bundled small model)')
    ap.add_argument('--steps', type=int, default=50); ap.add_argument('--octree-depth', type=int, default=7)
    ap.add_argument('--train-config', default=str(ROOT / 'configs' / 'dpo_small.yaml')); ap.add_argument('--train-steps', type=int, default=300)
    ap.add_argument('--accumulation', type=int, default=1, help='accumulation A of the N-process run (the one-process run uses N x A)')
    ap.add_argument('--released-train', action='store_true'); ap.add_argument('--released-steps', type=int, default=8)
    ap.add_argument('--cpu', action='store_true', help='CPU processes (gloo), for a smoke test')
    ap.add_argument('--work', default=None, help='folder for the runs (default: a temporary one)')
    a = ap.parse_args()
    n, cores = a.processes, os.cpu_count() or 1
    work = Path(a.work or tempfile.mkdtemp(prefix='bench_multi_gpu_')); work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, NCCL_NVLS_ENABLE=os.environ.get('NCCL_NVLS_ENABLE', '0'), PYTHONUNBUFFERED='1')
    if a.cpu: env['ACCELERATE_USE_CPU'] = 'true'
    one_env = dict(env, **({} if a.cpu else {'CUDA_VISIBLE_DEVICES': os.environ.get('CUDA_VISIBLE_DEVICES', '0').split(',')[0]}))
    many_env = dict(env, OMP_NUM_THREADS=str(max(1, cores // n)))
    cli = ['-m', 'partcrafter_dpo.cli']
    print(f"{n} processes, {cores} CPU cores, work folder {work}")

    def pair(tag, args, out, one_extra=(), many_extra=()):
        "Run `args` with one process, then with n; returns the two output folders and wall times."
        dirs = work / f'{tag}_1', work / f'{tag}_{n}'
        w1 = run(launcher(1, a.cpu, cores) + cli + args + out(dirs[0]) + list(one_extra), one_env, work / f'{tag}_1.log')
        wn = run(launcher(n, a.cpu, cores // n) + cli + args + out(dirs[1]) + list(many_extra), many_env, work / f'{tag}_{n}.log')
        return dirs, (w1, wn)
    hist = lambda d: json.loads((d / 'history.json').read_text())
    output_dir = lambda d: [f'output_dir={d}']
    accumulation = lambda k: [f'gradient_accumulation_steps={k}']

    cd = ['create-data', '--data', a.data, '--split', 'all', '--limit', str(a.scenes), '--steps', str(a.steps),
          '--octree-depth', str(a.octree_depth)] + (['--model', a.model] if a.model else [])
    (d1, dn), (w1, wn) = pair('cd', cd, lambda d: ['--out', str(d)])
    (r1, i1), (rn, i_n) = scene_rate(d1), scene_rate(dn)
    ids = sorted(i1)
    if len(ids) < 4 * n: print(f"note: {len(ids)} scenes are too few for a steady-state rate; compare the wall times")
    assert sorted(i_n) == ids, f"scene sets differ: {sorted(set(ids) ^ set(i_n))}"
    assert [i_n[s][0] for s in ids] == [f"process {k % n} of {n}" for k in range(len(ids))], "a scene was written by the wrong process"
    diff = max(abs(i1[s][1][k] - i_n[s][1][k]) for s in ids for k in i1[s][1] if i1[s][1][k] is not None)
    print(f"create-data, {len(ids)} scenes: 1 process {r1:.3f} scenes/s ({w1:.0f} s wall) | {n} processes {rn:.3f} scenes/s "
          f"({wn:.0f} s wall) | speed-up {rn / r1:.2f}x (ideal {n}x); every scene written once; largest score difference {diff:.2g}")

    common = ['checkpoint_every=100000', 'log_every=1', 'validate_every=0'] + (['mixed_precision=no'] if a.cpu else [])
    tr = ['train', '--config', a.train_config, f'data={dn}', f'max_steps={a.train_steps}'] + common + ([f'model={a.model}'] if a.model else [])
    (t1, tn), _ = pair('train', tr, output_dir, accumulation(n * a.accumulation), accumulation(a.accumulation))
    compare_train('train', hist(t1), hist(tn), n, a.accumulation)

    if a.released_train:
        model, data = released_fixture(work / 'released')
        rt = ['train', '--config', str(ROOT / 'configs' / 'partcrafter_dpo.yaml'), f'model={model}', f'data={data}',
              f'max_steps={a.released_steps}', 'warmup_steps=2'] + common
        (t1, tn), _ = pair('released', rt, output_dir, accumulation(2 * n), accumulation(2))
        compare_train('train, released-size DiT + LoRA r64 (4 pairs x 8 parts x 512 tokens per batch)', hist(t1), hist(tn), n, 2)


if __name__ == '__main__': main()
