"""Report writers: self-contained HTML with its sections, CSV/JSON round trips."""

import csv
import json
import os

import numpy as np

from dendrax.analysis import plots
from dendrax.analysis import report


def test_html_report_is_self_contained_with_sections(tmp_path):
  fig = plots.parity_figure({'CNN-2 / test': (np.arange(5.0), np.arange(5.0) + 0.1,
                                              {'r': 1.0, 'r2': 0.99, 'mse': 0.01})})
  sections = [('Parity', report.figure_html(fig, alt='parity')),
              ('Ranking', report.table_html([{'parameter': 'T', 'rank': 1, 'value': np.nan}])),
              ('Settings', report.settings_html({'a': {'b': 1.5}, 'c': [1, 2]}))]
  path = str(tmp_path / 'r.html')
  report.write_html(path, 'Test report', sections)
  text = open(path).read()
  for title, _ in sections:
    assert f'>{title}</h2>' in text
  assert 'data:image/png;base64,' in text
  assert 'src="http' not in text                  # nothing fetched from elsewhere
  assert '<td>a.b</td><td>1.5</td>' in text and '<td>n/a</td>' in text


def test_csv_and_json_round_trip(tmp_path):
  rows = [{'a': 1, 'b': np.float32(2.5)}, {'a': 2, 'c': 'x'}]
  report.write_csv(str(tmp_path / 't.csv'), rows)
  back = list(csv.DictReader(open(tmp_path / 't.csv')))
  assert back == [{'a': '1', 'b': '2.5', 'c': ''}, {'a': '2', 'b': '', 'c': 'x'}]
  report.write_json(str(tmp_path / 't.json'), {'x': np.arange(3), 'y': float('nan')})
  assert json.load(open(tmp_path / 't.json')) == {'x': [0, 1, 2], 'y': None}
  assert not [f for f in os.listdir(tmp_path) if f.startswith('.tmp-')]


def test_markdown_table():
  md = report.markdown_table([{'m': 'cnn2', 'r': 0.912345}], ['m', 'r'])
  assert md.splitlines() == ['| m | r |', '|---|---|', '| cnn2 | 0.9123 |']
