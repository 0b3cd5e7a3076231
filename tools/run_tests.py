#!/usr/bin/env python
"""Run every notebook's tests (nbdev_test, one notebook per process) and any pytest files under tests/.

Prints one line per notebook and a closing line `N passed, N failed`. Cells flagged `slow` or `cuda` (settings.ini
`tst_flags`) are skipped unless named with `--flags`, e.g. `python tools/run_tests.py --flags "slow cuda"` on a GPU box.
"""
import argparse, os, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def run_notebook(nb: Path, flags: str, threads: int):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYVISTA_OFF_SCREEN='true',
               HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', DIFFUSERS_OFFLINE='1', MPLBACKEND='Agg')
    cmd = [str(Path(sys.executable).parent / 'nbdev_test'), '--path', str(nb), '--flags', flags, '--n_workers', '0']
    t = time.time()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    return nb, p.returncode == 0, time.time() - t, p.stdout + p.stderr

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--flags', default='', help='test flags to enable, space separated (slow cuda)')
    ap.add_argument('--jobs', type=int, default=2, help='notebooks run at once')
    ap.add_argument('notebooks', nargs='*', help='only these notebooks (default: all of nbs/)')
    a = ap.parse_args()
    nbs = [Path(n).resolve() for n in a.notebooks] or sorted(p for p in (ROOT / 'nbs').glob('*.ipynb') if not p.name.startswith('_'))
    threads = max(1, (os.cpu_count() or 2) // a.jobs)
    passed = failed = 0
    t0 = time.time()
    with ThreadPoolExecutor(a.jobs) as ex:
        for nb, ok, secs, log in ex.map(lambda n: run_notebook(n, a.flags, threads), nbs):
            print(f"{'PASS' if ok else 'FAIL'}  {nb.relative_to(ROOT)}  ({secs:.0f} s)", flush=True)
            if ok: passed += 1
            else: failed += 1; print(log[-6000:], flush=True)
    tests = ROOT / 'tests'
    if tests.exists() and any(tests.glob('test_*.py')):
        p = subprocess.run([sys.executable, '-m', 'pytest', '-q', str(tests)], cwd=ROOT)
        ok = p.returncode == 0
        print(f"{'PASS' if ok else 'FAIL'}  tests/ (pytest)", flush=True)
        passed, failed = passed + ok, failed + (not ok)
    print(f"total {time.time() - t0:.0f} s")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
