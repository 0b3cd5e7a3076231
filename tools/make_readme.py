#!/usr/bin/env python
"""Write README.md from nbs/index.ipynb without Quarto.

`nbdev_readme` does this through Quarto where Quarto is installed; this script gives the same content on machines
without it: markdown cells as they are, code cells (unless `#| hide`) as python blocks, their text output as plain
blocks. Image links relative to nbs/ are rewritten relative to the repository root.
"""
import json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def cell_text(c):
    return ''.join(c['source']) if isinstance(c['source'], list) else c['source']

def main():
    nb = json.loads((ROOT / 'nbs' / 'index.ipynb').read_text())
    out = []
    for c in nb['cells']:
        src = cell_text(c)
        if c['cell_type'] == 'markdown':
            out.append(re.sub(r'\]\((?!https?:|#|/)([^)]+)\)', lambda m: f'](nbs/{m.group(1)})', src))
        elif c['cell_type'] == 'code':
            directives = [l for l in src.splitlines() if l.startswith('#|')]
            if any(re.match(r'#\|\s*(hide|include:\s*false)', d) for d in directives): continue
            code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
            if code and not any(re.match(r'#\|\s*echo:\s*false', d) for d in directives): out.append(f'```python\n{code}\n```')
            text = ''.join(''.join(o.get('text', '')) if o.get('output_type') == 'stream' else ''.join(o.get('data', {}).get('text/plain', ''))
                           for o in c.get('outputs', []))
            if text.strip(): out.append(f'```\n{text.rstrip()}\n```')
    (ROOT / 'README.md').write_text('\n\n'.join(out).strip() + '\n')

if __name__ == '__main__': main()
