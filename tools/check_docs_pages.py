#!/usr/bin/env python
"""Look at docs pages without Quarto or a browser: nbdev's docs pre-processing of some notebooks, each processed
notebook converted to HTML with `jupyter nbconvert --to html`, and a check of the page's text.

    python tools/check_docs_pages.py                          # nbs/models/*.ipynb and nbs/00b_kitchen.ipynb
    python tools/check_docs_pages.py nbs/02_pairs.ipynb       # other notebooks
    python tools/check_docs_pages.py --keep /tmp/pages        # keep the processed notebooks and the HTML pages
    python tools/check_docs_pages.py --keep /tmp/pages --screenshots   # and a PNG of each page (headless Chromium)

Before converting, the processed notebook is given the look Quarto gives it: the front matter becomes the page's title
and description, cells marked `#| echo: false` show only their output, `#| include: false` cells are dropped and `#|`
lines are taken out of the code. The checks, per page:

- the notebook's first markdown cell holds only `# Title` and a one-line `> description` (nbdev turns that cell into
  the page's front matter and drops everything else in it; the description is also the module's docstring), and
  the front matter has both;
- every h1 and h2 is short (`--max-heading` characters): a long one is prose that became a heading;
- no paragraph or list item starts with `#` (markdown commented out line by line shows up that way) and no `#|`
  directive is left in the prose;
- every image the page links to exists, relative to the notebook's folder.

Prints one line per page and the problems found; exit status 1 when a page fails. Not part of CI.
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_tests import ROOT, proc_notebook          # the per-notebook step of `nbdev_proc_nbs`

DEFAULT = sorted((ROOT / 'nbs' / 'models').glob('*.ipynb')) + [ROOT / 'nbs' / '00b_kitchen.ipynb']
_DIRECTIVE = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_ATTRS = re.compile(r'\{target="_blank"[^}]*\}')

def _directives(src: str) -> dict:
    "The `#| key: value` lines at the top of a cell's source."
    out = {}
    for line in src.splitlines():
        m = _DIRECTIVE.match(line)
        if not m: break
        out[m.group(1)] = m.group(2)
    return out

def _front_matter(src: str) -> dict:
    "title and description of a raw `---` front-matter cell."
    import yaml
    m = re.match(r'---\s*\n(.*?)\n---', src.strip(), re.S)
    return (yaml.safe_load(m.group(1)) or {}) if m else {}

def quarto_like(nb: dict) -> tuple:
    "(notebook as Quarto shows it, front matter): title/description as a heading cell, hidden sources and cells removed."
    cells, fm = [], {}
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'raw' and not fm and src.lstrip().startswith('---'):
            fm = _front_matter(src)
            head = f"# {fm.get('title', '')}" + (f"\n\n> {fm['description']}" if fm.get('description') else '')
            cells.append(dict(cell_type='markdown', metadata={}, source=head))
            continue
        if c['cell_type'] == 'code':
            d = _directives(src)
            if d.get('include') == 'false': continue
            c = dict(c, metadata=dict(c.get('metadata', {})))
            c['source'] = '\n'.join(l for l in src.splitlines() if not _DIRECTIVE.match(l))
            if d.get('echo') == 'false': c['metadata']['tags'] = ['remove_input']
            for o in c.get('outputs', []):       # show_doc's source link carries attributes only Quarto (pandoc) reads
                md = o.get('data', {}).get('text/markdown')
                if md: o['data']['text/markdown'] = _ATTRS.sub('', ''.join(md))
        cells.append(c)
    return dict(nb, cells=cells), fm

class PageText(HTMLParser):
    "Headings (level, text), paragraphs and list items of an HTML page; code, scripts and styles skipped."
    BLOCKS = {'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'li'}
    SKIP = {'pre', 'code', 'script', 'style'}
    def __init__(self):
        super().__init__(); self.items, self.images, self._stack, self._skip = [], [], [], 0
    def handle_starttag(self, tag, attrs):
        if tag == 'img': self.images.append(dict(attrs).get('src') or '')
        if tag in self.SKIP: self._skip += 1
        if tag in self.BLOCKS: self._stack.append([tag, ''])
    def handle_endtag(self, tag):
        if tag in self.SKIP: self._skip = max(0, self._skip - 1)
        if tag in self.BLOCKS and self._stack and self._stack[-1][0] == tag:
            t, text = self._stack.pop()
            self.items.append((t, ' '.join(text.replace('\u00b6', '').split())))
    def handle_data(self, data):
        if self._stack and not self._skip: self._stack[-1][1] += data

def title_cell_problems(nb: dict) -> list:
    "What of the source notebook's first markdown cell would not reach the page."
    cell = next((c for c in nb['cells'] if c['cell_type'] == 'markdown'), None)
    if cell is None: return ['no markdown cell: the page has no title']
    lines = [l for l in ''.join(cell['source']).splitlines() if l.strip()]
    rest = [l for l in lines if not re.match(r'#\s|>', l)]
    probs = [f'{len(rest)} lines besides title and description in the first markdown cell, dropped from the page: '
             f'{rest[0][:80]}'] if rest else []
    quoted = [l for l in lines if l.startswith('>')]
    if len(quoted) > 1: probs.append(f'description spans {len(quoted)} lines; only the first reaches the page')
    return probs

def page_problems(html: str, fm: dict, max_heading: int, folder: Path) -> list:
    "What is wrong with the text of one page whose notebook lives in `folder`."
    probs = [f'front matter has no {k}' for k in ('title', 'description') if not fm.get(k)]
    p = PageText(); p.feed(html)
    for tag, text in p.items:
        if tag in ('h1', 'h2') and len(text) > max_heading:
            probs.append(f'{tag} of {len(text)} characters (prose made a heading?): {text[:100]}')
        if tag in ('p', 'li') and text.startswith('#'):
            probs.append(f'{tag} starts with "#" (commented-out markdown?): {text[:100]}')
        if tag in PageText.BLOCKS and '#|' in text:
            probs.append(f'{tag} holds a "#|" directive: {text[:100]}')
    if not any(t == 'h1' for t, _ in p.items): probs.append('no h1 (page title)')
    for src in p.images:
        if src and not re.match(r'(data|https?|file):', src) and not (folder / src).exists():
            probs.append(f'image {src} does not exist next to the notebook')
    return probs

def to_html(nb_path: Path, out_dir: Path) -> Path:
    "`jupyter nbconvert --to html` of `nb_path` into `out_dir`, sources tagged `remove_input` left out."
    exe = Path(sys.executable).parent / 'jupyter'
    cmd = [str(exe), 'nbconvert'] if exe.exists() else [sys.executable, '-m', 'nbconvert']
    cmd += ['--to', 'html', '--log-level', 'WARN', '--output-dir', str(out_dir),
            '--TagRemovePreprocessor.enabled=True', '--TagRemovePreprocessor.remove_input_tags=remove_input', str(nb_path)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out_dir / (nb_path.stem + '.html')

def with_base(html: Path, folder: Path):
    "Make the page's relative links (images) resolve from the notebook's own folder."
    text = html.read_text()
    html.write_text(text.replace('<head>', f'<head><base href="{folder.as_uri()}/">', 1))

def screenshot(html: Path, png: Path) -> bool:
    "PNG of `html` by a headless Chromium, if one is installed."
    exe = next((shutil.which(n) for n in ('chromium', 'chromium-browser', 'google-chrome') if shutil.which(n)), None)
    if exe is None: return False
    subprocess.run([exe, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', f'--screenshot={png}',
                    '--window-size=1200,2000', html.as_uri()], check=True, capture_output=True, timeout=120)
    return png.exists()

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('notebooks', nargs='*', help='notebooks to check (default: nbs/models/*.ipynb and nbs/00b_kitchen.ipynb)')
    ap.add_argument('--keep', default=None, help='folder for the processed notebooks and HTML pages (default: a temporary one)')
    ap.add_argument('--screenshots', action='store_true', help='with --keep: a PNG of each page, by a headless Chromium')
    ap.add_argument('--max-heading', type=int, default=80, help='longest h1/h2 allowed, in characters')
    ap.add_argument('--docs-cpu-limit', type=int, default=90, help='CPU-seconds the docs processing of one notebook may take')
    a = ap.parse_args()
    if a.screenshots and not a.keep: ap.error('--screenshots needs --keep')
    nbs = [Path(n).resolve() for n in a.notebooks] or DEFAULT
    out = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix='docs_pages_'))
    out.mkdir(parents=True, exist_ok=True)
    threads = 1 if os.environ.get('OMP_NUM_THREADS') == '1' else max(1, (os.cpu_count() or 2) // 2)
    failed = 0
    try:
        for nb in nbs:
            name = nb.relative_to(ROOT / 'nbs') if nb.is_relative_to(ROOT / 'nbs') else Path(nb.name)
            _, ok, secs, _, log = proc_notebook(nb, out / 'proc', threads, a.docs_cpu_limit)
            if not ok:
                failed += 1; print(f'FAIL  {name}: docs processing failed\n{log[-2000:]}'); continue
            page_nb, fm = quarto_like(json.loads((out / 'proc' / name).read_text()))
            look = out / 'pages' / name
            look.parent.mkdir(parents=True, exist_ok=True)
            look.write_text(json.dumps(page_nb))
            html = to_html(look, look.parent)
            probs = title_cell_problems(json.loads(nb.read_text())) + page_problems(html.read_text(), fm, a.max_heading, nb.parent)
            with_base(html, nb.parent)
            shot = ''
            if a.screenshots:
                png = html.with_suffix('.png')
                shot = f', screenshot {png}' if screenshot(html, png) else ', no Chromium found: no screenshot'
            where = f', {html}' if a.keep else ''
            print(f"{'FAIL' if probs else 'ok  '}  {name}  ({secs:.0f} s{where}{shot})")
            for p in probs: print(f'        {p}')
            failed += bool(probs)
    finally:
        if not a.keep: shutil.rmtree(out, ignore_errors=True)
    print(f'{len(nbs) - failed} pages ok, {failed} failed')
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
