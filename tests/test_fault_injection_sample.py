"""CI sample of benchmarks/fault_injection.py: one corrupt latest checkpoint and one killed
dataset build, each compared with an uninterrupted run (the full figure: docs/reliability.md)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_fault_injection_sample_loses_nothing(tmp_path):
  table = tmp_path / 'table.md'
  out = subprocess.run([sys.executable, '-m', 'benchmarks.fault_injection', '--sample',
                        '--kinds=ckpt_corrupt,build_kill', f'--out={table}'], cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS='cpu'),
                       capture_output=True, text=True, timeout=900)
  assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
  text = table.read_text()
  total = next(line for line in text.splitlines() if line.startswith('| **total**'))
  tried, recovered, lost = (int(c.strip(' *')) for c in total.strip('|').split('|')[1:])
  assert '| ckpt_corrupt | 1 | 1 | 0 |' in text, text
  assert tried == recovered >= 1 and lost == 0, text
