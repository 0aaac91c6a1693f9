"""scripts/reproduce_readme.sh --list: every README section listed with a run time, every command
runnable as written (each `python -m X` imports, each script and `--config` file exists), every
output under OUT/<section>. The sections themselves take hours and are not run here."""

import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'scripts', 'reproduce_readme.sh')


def _listing(out_dir, *args):
  return subprocess.run(['bash', SCRIPT, '--list', *args], cwd=ROOT, capture_output=True,
                        text=True, check=True, timeout=60,
                        env={**os.environ, 'OUT': out_dir}).stdout


def _sections(text):
  """{section: (run time in minutes, [command tokens])} parsed from the listing."""
  sections, name = {}, None
  for line in text.splitlines():
    head = re.match(r'\[(\w+)\] ', line)
    if head:
      name = head.group(1)
      sections[name] = [None, []]
    elif name and line.startswith('  run time: '):
      sections[name][0] = int(re.match(r'  run time: (\d+) min', line).group(1))
    elif name and line.startswith('  python'):
      sections[name][1].append(shlex.split(line.strip()))
  return sections


def test_list_names_every_section_with_a_run_time_and_runnable_commands(tmp_path):
  out = str(tmp_path / 'readme')
  text = _listing(out)
  sections = _sections(text)
  assert len(sections) == 18
  assert list(sections)[:4] == ['surrogates', 'fig4_table', 'divergence_arms', 'piml']
  assert all(minutes and minutes > 0 and commands
             for minutes, commands in sections.values()), sections
  total = int(re.search(r'total: (\d+) min', text).group(1))
  assert total == sum(m for m, _ in sections.values())

  modules = set()
  for name, (_, commands) in sections.items():
    for tokens in commands:
      assert tokens[0] == 'python', tokens
      if tokens[1] == '-m':
        modules.add(tokens[2])
      else:
        assert os.path.isfile(os.path.join(ROOT, tokens[1])), tokens[1]
      for i, tok in enumerate(tokens):
        if tok == '--config':
          path = tokens[i + 1].split(':')[0]
          assert os.path.isfile(os.path.join(ROOT, path)), (name, path)
      # Every output path lies under OUT (a section's own folder or the checkpoints it reads).
      paths = [t.split('=', 1)[-1] for t in tokens if t.startswith(out)
               or t.startswith('--config.workdir=')]
      paths += [tokens[i + 1] for i, t in enumerate(tokens) if t in (
          '--workdir', '--out', '--output_dir', '>') and i + 1 < len(tokens)]
      assert paths and all(p.startswith(out + os.sep) for p in paths), (name, tokens)

  # absl flags are defined at import and clash between experiments: one process per module.
  procs = {m: subprocess.Popen([sys.executable, '-c', f'import {m}'], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, 'PYTHONPATH': ROOT, 'JAX_PLATFORMS': 'cpu'})
           for m in sorted(modules)}
  failed = {m: p.communicate(timeout=300)[1][-500:] for m, p in procs.items()}
  assert not {m: err for m, err in failed.items() if procs[m].returncode}, failed


def test_a_section_filter_lists_only_those_sections_and_readme_points_at_the_script(tmp_path):
  sections = _sections(_listing(str(tmp_path), 'sweep', 'baselines'))
  assert list(sections) == ['baselines', 'sweep']          # README order
  readme = open(os.path.join(ROOT, 'README.md')).read()
  assert 'scripts/reproduce_readme.sh' in readme
  bad = subprocess.run(['bash', SCRIPT, 'no_such_section'], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
  assert bad.returncode == 2 and 'unknown section' in bad.stderr
