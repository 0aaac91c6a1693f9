"""Writers for the analysis outputs: self-contained HTML, Markdown, CSV and JSON.

An HTML report is a list of `(title, body_html)` sections; figures are embedded as base64 PNG
(`figure_html`), so the single file can be mailed or attached to a paper's supplement. Every
writer goes through `dendrax.files.atomic_write`, so a reader never sees half a file.
"""

from __future__ import annotations

import base64
import csv
import datetime
import html
import io
import json
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from dendrax import files

Section = tuple[str, str]   # (title, body as HTML)

_STYLE = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
h1 { border-bottom: 2px solid #c0392b; } h2 { margin-top: 2em; color: #1f4e79; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 3px 8px; text-align: right; }
th { background: #eef; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; } .note { color: #555; font-size: 0.9em; }
"""


def write_text(path: str, text: str) -> None:
  """Writes `text` to `path` atomically (`dendrax.files`), creating the folder."""
  files.write_text(path, text)


def to_jsonable(obj: Any) -> Any:
  """Numpy/JAX scalars and arrays to plain Python; non-finite floats to None (valid JSON)."""
  if isinstance(obj, Mapping):
    return {str(k): to_jsonable(v) for k, v in obj.items()}
  if isinstance(obj, (list, tuple)):
    return [to_jsonable(v) for v in obj]
  if hasattr(obj, '__array__') and not isinstance(obj, (str, bytes)):
    arr = np.asarray(obj)
    if arr.ndim == 0:
      return to_jsonable(arr.item())
    return [to_jsonable(v) for v in arr.tolist()]
  if isinstance(obj, float):
    return obj if math.isfinite(obj) else None
  if isinstance(obj, (np.integer, np.floating, np.bool_)):
    return to_jsonable(obj.item())
  return obj


def write_json(path: str, obj: Any) -> None:
  write_text(path, json.dumps(to_jsonable(obj), indent=1, sort_keys=False) + '\n')


def write_csv(path: str, rows: Sequence[Mapping[str, Any]],
              columns: Sequence[str] | None = None) -> None:
  """Rows of dicts to CSV; columns default to the keys in order of first appearance."""
  columns = list(columns or _columns(rows))
  buf = io.StringIO()
  writer = csv.DictWriter(buf, fieldnames=columns, extrasaction='ignore')
  writer.writeheader()
  for row in rows:
    writer.writerow({k: _plain(row.get(k, '')) for k in columns})
  write_text(path, buf.getvalue())


def _columns(rows: Iterable[Mapping[str, Any]]) -> list[str]:
  cols: list[str] = []
  for row in rows:
    cols.extend(k for k in row if k not in cols)
  return cols


def _plain(v: Any) -> Any:
  v = to_jsonable(v)
  return '' if v is None else v


def format_value(v: Any, digits: int = 4) -> str:
  """Numbers with `digits` significant digits, NaN/None as 'n/a', others as str."""
  v = to_jsonable(v)
  if v is None:
    return 'n/a'
  if isinstance(v, bool) or not isinstance(v, (int, float)):
    return str(v)
  if isinstance(v, int):
    return str(v)
  return f'{v:.{digits}g}'


def mean_spread_ci(mean: float, std: float = float('nan'), ci_low: float = float('nan'),
                   ci_high: float = float('nan')) -> str:
  """'0.912 ± 0.005 [0.871, 0.944]': a table cell of a mean, its spread and its 95 % interval
  (parts that are NaN or None left out; 'n/a' without a mean)."""
  ok = lambda v: v is not None and math.isfinite(v)
  num = lambda v: f'{v:.3f}' if abs(v) < 100 else f'{v:.4g}'
  if not ok(mean):
    return 'n/a'
  text = num(mean)
  if ok(std):
    text += f' ± {num(std)}'
  if ok(ci_low) and ok(ci_high):
    text += f' [{num(ci_low)}, {num(ci_high)}]'
  return text


def table_html(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None,
               digits: int = 4) -> str:
  columns = list(columns or _columns(rows))
  head = ''.join(f'<th>{html.escape(str(c))}</th>' for c in columns)
  body = ''.join(
      '<tr>' + ''.join(f'<td>{html.escape(format_value(r.get(c, ""), digits))}</td>'
                       for c in columns) + '</tr>' for r in rows)
  return f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None,
                   digits: int = 4) -> str:
  columns = list(columns or _columns(rows))
  lines = ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
  for r in rows:
    lines.append('| ' + ' | '.join(format_value(r.get(c, ''), digits) for c in columns) + ' |')
  return '\n'.join(lines)


def figure_html(fig, *, alt: str = '', dpi: int = 110) -> str:
  """A matplotlib figure as an inline base64 PNG <img>; closes the figure."""
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  buf = io.BytesIO()
  fig.savefig(buf, format='png', dpi=dpi, bbox_inches='tight')
  plt.close(fig)
  data = base64.b64encode(buf.getvalue()).decode('ascii')
  return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"/>'


def paragraph(text: str, *, note: bool = False) -> str:
  cls = ' class="note"' if note else ''
  return f'<p{cls}>{html.escape(text)}</p>'


def settings_html(settings: Mapping[str, Any]) -> str:
  """A two-column table of the settings a report was made with (nested keys dotted)."""
  rows = [{'setting': k, 'value': v} for k, v in _flatten(settings).items()]
  return table_html(rows, ['setting', 'value'])


def _flatten(d: Mapping[str, Any], prefix: str = '') -> dict[str, Any]:
  out = {}
  for k, v in d.items():
    key = f'{prefix}{k}'
    if isinstance(v, Mapping):
      out.update(_flatten(v, key + '.'))
    else:
      out[key] = json.dumps(to_jsonable(v)) if isinstance(v, (list, tuple)) else v
  return out


def write_html(path: str, title: str, sections: Sequence[Section]) -> None:
  """A self-contained HTML page: a contents list, then each section as <h2> + body."""
  toc = ''.join(f'<li><a href="#s{i}">{html.escape(t)}</a></li>'
                for i, (t, _) in enumerate(sections))
  body = ''.join(f'<h2 id="s{i}">{html.escape(t)}</h2>\n{b}\n'
                 for i, (t, b) in enumerate(sections))
  stamp = datetime.datetime.now().isoformat(timespec='seconds')
  page = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}'
          f'</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>'
          f'<p class="note">Written {stamp} by dendrax.</p><ol>{toc}</ol>\n{body}</body></html>\n')
  write_text(path, page)
