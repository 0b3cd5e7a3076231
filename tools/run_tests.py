#!/usr/bin/env python
"""Run every notebook's tests (nbdev_test, one notebook per process), any pytest files under tests/, and nbdev's docs
pre-processing of the notebooks (what `nbdev_proc_nbs` / `nbdev_docs` do before Quarto renders, into a temporary
folder; `--no-docs` skips it).

Prints one line per notebook, one for the docs pre-processing and a closing line `N passed, N failed`. Cells flagged
`slow` or `cuda` (settings.ini `tst_flags`) are skipped unless named with `--flags`, e.g.
`python tools/run_tests.py --flags "slow cuda"` on a GPU box. `--docs-only` runs just the docs check.
"""
import argparse, os, re, signal, subprocess, sys, tempfile, time, warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _env(threads: int):
    return dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYVISTA_OFF_SCREEN='true',
                HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', DIFFUSERS_OFFLINE='1', MPLBACKEND='Agg')

def run_notebook(nb: Path, flags: str, threads: int):
    cmd = [str(Path(sys.executable).parent / 'nbdev_test'), '--path', str(nb), '--flags', flags, '--n_workers', '0']
    t = time.time()
    p = subprocess.run(cmd, cwd=ROOT, env=_env(threads), capture_output=True, text=True)
    return nb, p.returncode == 0, time.time() - t, p.stdout + p.stderr

# One notebook through nbdev's docs processors (front matter, show_doc cells, execution of the exported cells and of
# every cell with an import, ...): the per-file step of `nbdev_proc_nbs` (which itself always writes to `_proc/` in
# the repo, and first installs Quarto if it is missing). The CPU limit (the notebook's process and everything it
# starts) keeps a notebook whose docs build re-runs its test work (a cell mixing imports with that work) from costing
# CI minutes: it is stopped and fails, naming the cells.
_PROC_ONE = """import sys
from pathlib import Path
from nbdev.processors import FilterDefaults
from nbdev.serve_drv import main
main((Path(sys.argv[1]), Path(sys.argv[2]), FilterDefaults))"""

def _session_cpu(sid: int):
    "CPU-seconds so far of the processes in session `sid` (with their finished children); None without /proc."
    tot = 0
    try: pids = [d for d in os.listdir('/proc') if d.isdigit()]
    except OSError: return None
    for d in pids:
        try: st = Path(f'/proc/{d}/stat').read_text()
        except OSError: continue
        f = st[st.rindex(')') + 2:].split()        # fields from 3 (state) on
        if int(f[3]) == sid: tot += sum(int(x) for x in f[11:15])   # utime stime cutime cstime
    return tot / os.sysconf('SC_CLK_TCK')

def proc_notebook(nb: Path, out: Path, threads: int, cpu_limit: int):
    "(nb, ok, wall seconds, CPU seconds or None, log) of nbdev's docs processing of `nb` into `out`."
    t, cpu, stopped = time.time(), None, ''
    with tempfile.TemporaryFile('w+', encoding='utf-8', errors='replace') as log_f:
        dest = out / nb.relative_to(ROOT / 'nbs') if nb.is_relative_to(ROOT / 'nbs') else out / nb.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        p = subprocess.Popen([sys.executable, '-c', _PROC_ONE, str(nb), str(dest)], cwd=ROOT,
                             env=_env(threads), stdout=log_f, stderr=subprocess.STDOUT, start_new_session=True)
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                p.returncode = os.waitstatus_to_exitcode(status)
                cpu = max(cpu or 0, ru.ru_utime + ru.ru_stime)
                break
            now = _session_cpu(p.pid)
            if now is not None: cpu = now
            if cpu_limit and cpu is not None and cpu > cpu_limit:
                stopped = f'{cpu_limit} CPU-seconds (--docs-cpu-limit)'
            elif cpu_limit and time.time() - t > max(600, 10 * cpu_limit):    # backstop where /proc says nothing
                stopped = f'{time.time() - t:.0f} s of wall-clock time'
            if stopped:
                os.killpg(p.pid, signal.SIGKILL); p.wait()
                break
            time.sleep(0.5)
        try: os.killpg(p.pid, signal.SIGKILL)    # whatever it started and left running
        except ProcessLookupError: pass
        log_f.seek(0); log = log_f.read()
    if stopped:
        cells = _docs_exec_cells(nb)
        log += f'\nSTOPPED after {stopped}. ' + (
            'nbdev executes, besides exported cells, every cell that contains an import; these do more than import, so '
            'the docs build re-runs them: ' + '; '.join(cells) + '. Put their imports in an import-only cell.' if cells
            else 'Only exported, import and show_doc cells ran: raise the limit if that is expected.')
    return nb, p.returncode == 0 and not stopped, time.time() - t, cpu, log

def _docs_exec_cells(nb: Path):
    "Cells (index: first line) of `nb` that nbdev's docs processing executes and that are not exported/import-only."
    import ast
    from execnb.nbio import read_nb
    from nbdev.process import NBProcessor
    from nbdev.processors import _do_eval
    n = read_nb(nb)
    NBProcessor(nb=n, procs=[])                       # parses the `#|` directives
    res = []
    for i, c in enumerate(n.cells):
        if c.cell_type != 'code' or c.directives_.keys() & {'export', 'exports', 'exporti'}: continue
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            if not _do_eval(c): continue
        if all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in c.parsed_() or []): continue
        first = next((l for l in c.source.splitlines() if l.strip() and not l.startswith('#|')), '')
        res.append(f'cell {i} ({first[:60]})')
    return res

def _proc_error(log: str):
    "The failing cell's first lines and the error under it, from a processing log; else the log's tail."
    if 'STOPPED after' in log: return log[log.index('STOPPED after'):]
    m = re.search(r'^Exception: (Error.* in cell \d+ :\n(?:.*\n){0,3})', log, re.M)
    cause = re.findall(r'^(\w+(?:Error|Exception|Exit|Interrupt)\b.*)$', log.split('The above exception')[0], re.M)
    if not m: return log[-3000:]
    return m.group(1).rstrip() + (f'\n  -> {cause[-1]}' if cause else '')

def notebooks(nbs_dir: Path) -> list:
    "The notebooks under `nbs_dir`, sub-folders included (`nbs/models/...`), skipping `_`-prefixed files and folders and checkpoints."
    return sorted(p for p in nbs_dir.rglob('*.ipynb')
                  if not any(part.startswith(('_', '.')) for part in p.relative_to(nbs_dir).parts))

def sidebar_problems(nbs_dir: Path):
    "With `custom_sidebar = True`, notebooks missing from `nbs/sidebar.yml` and entries naming no file."
    ini = (ROOT / 'settings.ini').read_text()
    if not re.search(r'^custom_sidebar\s*=\s*true\s*$', ini, re.M | re.I): return []
    yml = nbs_dir / 'sidebar.yml'
    if not yml.exists(): return ['custom_sidebar = True but nbs/sidebar.yml is missing']
    listed = set(re.findall(r'^\s*-\s*(\S+\.(?:ipynb|qmd|md))\s*$', yml.read_text(), re.M))
    present = {p.relative_to(nbs_dir).as_posix() for p in notebooks(nbs_dir)}
    return ([f'{n} is not in nbs/sidebar.yml' for n in sorted(present - listed)] +
            [f'nbs/sidebar.yml lists {n}, which does not exist' for n in sorted(listed - present)])

def run_docs(nbs, jobs: int, threads: int, cpu_limit: int):
    "nbdev's docs pre-processing of `nbs` into a temporary folder, and the sidebar check; (ok, seconds, messages)."
    t, msgs = time.time(), sidebar_problems(ROOT / 'nbs')
    with tempfile.TemporaryDirectory(prefix='proc_') as out, ThreadPoolExecutor(jobs) as ex:
        for nb, ok, secs, cpu, log in ex.map(lambda n: proc_notebook(n, Path(out), threads, cpu_limit), nbs):
            cpu_s = '' if cpu is None else f', {cpu:.0f} CPU-s'
            print(f"  docs {'ok  ' if ok else 'FAIL'}  {nb.relative_to(ROOT)}  ({secs:.0f} s{cpu_s})", flush=True)
            if not ok: msgs.append(f'{nb.relative_to(ROOT)}: {_proc_error(log)}')
    return not msgs, time.time() - t, msgs

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--flags', default='', help='test flags to enable, space separated (slow cuda)')
    ap.add_argument('--jobs', type=int, default=2, help='notebooks run at once')
    ap.add_argument('--no-docs', action='store_true', help="skip nbdev's docs pre-processing check")
    ap.add_argument('--docs-only', action='store_true', help="only nbdev's docs pre-processing check")
    ap.add_argument('--docs-cpu-limit', type=int, default=90,
                    help='CPU-seconds one notebook (with what it starts) may take in the docs check; 0: no limit')
    ap.add_argument('notebooks', nargs='*', help='only these notebooks (default: all of nbs/, sub-folders included)')
    a = ap.parse_args()
    nbs = [Path(n).resolve() for n in a.notebooks] or notebooks(ROOT / 'nbs')
    threads = max(1, (os.cpu_count() or 2) // a.jobs)
    passed = failed = 0
    t0 = time.time()
    with ThreadPoolExecutor(a.jobs) as ex:
        for nb, ok, secs, log in ex.map(lambda n: run_notebook(n, a.flags, threads), [] if a.docs_only else nbs):
            print(f"{'PASS' if ok else 'FAIL'}  {nb.relative_to(ROOT)}  ({secs:.0f} s)", flush=True)
            if ok: passed += 1
            else: failed += 1; print(log[-6000:], flush=True)
    tests = ROOT / 'tests'
    if not a.docs_only and tests.exists() and any(tests.glob('test_*.py')):
        p = subprocess.run([sys.executable, '-m', 'pytest', '-q', str(tests)], cwd=ROOT)
        ok = p.returncode == 0
        print(f"{'PASS' if ok else 'FAIL'}  tests/ (pytest)", flush=True)
        passed, failed = passed + ok, failed + (not ok)
    if not a.no_docs:
        ok, secs, msgs = run_docs(nbs, a.jobs, threads, a.docs_cpu_limit)
        print(f"{'PASS' if ok else 'FAIL'}  docs pre-processing (nbdev_proc_nbs, {len(nbs)} notebooks)  ({secs:.0f} s)",
              flush=True)
        for m in msgs: print(m, flush=True)
        passed, failed = passed + ok, failed + (not ok)
    print(f"total {time.time() - t0:.0f} s")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
