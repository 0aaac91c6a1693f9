"""Morphology figures and growth videos: deposit red, electrolyte blue (the paper's Fig. 6 colours).

Frames are `[H, W]` = `[y, x]` with y = 0 the electrode; every image uses `origin='lower'`, so the
electrode is at the bottom. Axes are in um (`pixel_size_um`). Files are written atomically
(`dendrax.files.atomic_path`). Used by `experiments.simulate` and by model
evaluation (predicted vs simulated frames).
"""

from __future__ import annotations

import os
from typing import Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.animation as animation  # noqa: E402
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dendrax import files  # noqa: E402

# Resolution of saved figures (slides and papers) and of video frames.
DPI = 200
VIDEO_DPI = 120

# Electrolyte (xi = 0) blue -> deposit (xi = 1) red.
DEPOSIT_CMAP = mcolors.LinearSegmentedColormap.from_list(
    'dendrax_deposit', ['#1f3fbf', '#7f9fdf', '#f0f0f0', '#df7f6f', '#bf1f1f'])


def show_frame(ax, xi_hw, pixel_size_um: float, title: str | None = None):
  """Draws one frame on `ax` (red deposit, blue electrolyte, electrode at the bottom)."""
  xi_hw = np.asarray(xi_hw)
  if xi_hw.ndim != 2:
    raise ValueError(f'xi must be [H, W]; got shape {xi_hw.shape}')
  h, w = xi_hw.shape
  im = ax.imshow(xi_hw, origin='lower', cmap=DEPOSIT_CMAP, vmin=0.0, vmax=1.0,
                 extent=(0, w * pixel_size_um, 0, h * pixel_size_um), interpolation='nearest')
  if title:
    ax.set_title(title, fontsize=9)
  ax.set_xlabel('x (um)', fontsize=8)
  ax.tick_params(labelsize=7)
  return im


# Title colour of frames at or after a short circuit (their fields are frozen).
SHORTED_COLOUR = '#bf1f1f'


def frame_titles(time_s: Sequence[float], *, lengths_um: Sequence[float] | None = None,
                 shorted_from_s: float | None = None) -> list[str]:
  """One title per frame: the time, the length if given, and on every frame at or after
  `shorted_from_s` (the first frame of a shorted cell) 'shorted by t = X s:' / 'frozen' on two
  lines, so a strip or a video never passes frozen fields off as growth."""
  titles = []
  for i, t in enumerate(time_s):
    title = f'{float(t):.0f} s'
    if lengths_um is not None:
      title += f'\nL = {float(lengths_um[i]):.1f} um'
    if shorted_from_s is not None and float(t) >= shorted_from_s:
      title += f'\nshorted by t = {shorted_from_s:.0f} s:\nfrozen'
    titles.append(title)
  return titles


def _is_shorted(time_s, shorted_from_s) -> bool:
  return shorted_from_s is not None and float(time_s) >= shorted_from_s


def growth_strip(xi_thw, time_s: Sequence[float], pixel_size_um: float, path: str, *,
                 lengths_um: Sequence[float] | None = None, suptitle: str | None = None,
                 shorted_from_s: float | None = None) -> str:
  """PNG of all frames side by side, titled by `frame_titles` (frames of a shorted cell in red)."""
  xi_thw = np.asarray(xi_thw)
  if xi_thw.ndim != 3:
    raise ValueError(f'xi must be [T, H, W]; got shape {xi_thw.shape}')
  t = len(xi_thw)
  titles = frame_titles(time_s, lengths_um=lengths_um, shorted_from_s=shorted_from_s)
  fig, axes = plt.subplots(1, t, figsize=(1.9 * t + 0.6, 2.4), squeeze=False)
  for i, ax in enumerate(axes[0]):
    im = show_frame(ax, xi_thw[i], pixel_size_um, titles[i])
    if _is_shorted(time_s[i], shorted_from_s):
      ax.title.set_color(SHORTED_COLOUR)
    if i:
      ax.set_yticklabels([])
    else:
      ax.set_ylabel('y (um)', fontsize=8)
  fig.colorbar(im, ax=axes[0].tolist(), fraction=0.02, pad=0.01, label='xi (1 = metal)')
  if suptitle:   # above the tallest title (9 pt lines, about 0.05 of the 2.4 in height each)
    lines = max(t.count('\n') + 1 for t in titles)
    fig.suptitle(suptitle, fontsize=10, y=1.0 + 0.05 * lines)
  with files.atomic_path(path) as tmp:
    fig.savefig(tmp, dpi=DPI, format='png', bbox_inches='tight')
  plt.close(fig)
  return path


def growth_animation(xi_thw, time_s: Sequence[float], pixel_size_um: float, path: str, *,
                     fps: int = 2, shorted_from_s: float | None = None) -> str:
  """GIF (Pillow) or MP4 (imageio-ffmpeg's bundled ffmpeg) of the growth, chosen by extension;
  frames titled by `frame_titles` (those of a shorted cell in red)."""
  xi_thw = np.asarray(xi_thw)
  ext = os.path.splitext(path)[1].lower()
  if ext not in ('.gif', '.mp4'):
    raise ValueError(f'animation path {path!r}: extension must be .gif or .mp4')
  titles = frame_titles(time_s, shorted_from_s=shorted_from_s)
  fig, ax = plt.subplots(figsize=(3.2, 3.2))
  # Lay out for the tallest title (video frames share one layout), then show the first.
  im = show_frame(ax, xi_thw[0], pixel_size_um, max(titles, key=lambda t: t.count('\n')))
  ax.set_ylabel('y (um)', fontsize=8)
  fig.tight_layout()
  ax.set_title(titles[0], fontsize=9)

  def update(i):
    im.set_data(xi_thw[i])
    colour = SHORTED_COLOUR if _is_shorted(time_s[i], shorted_from_s) else 'black'
    ax.set_title(titles[i], fontsize=9, color=colour)
    return (im,)

  anim = animation.FuncAnimation(fig, update, frames=len(xi_thw), blit=False)
  if ext == '.gif':
    writer = animation.PillowWriter(fps=fps)
  else:
    import imageio_ffmpeg  # pylint: disable=g-import-not-at-top
    matplotlib.rcParams['animation.ffmpeg_path'] = imageio_ffmpeg.get_ffmpeg_exe()
    writer = animation.FFMpegWriter(fps=fps)
  with files.atomic_path(path) as tmp:
    anim.save(tmp, writer=writer, dpi=VIDEO_DPI)
  plt.close(fig)
  return path
