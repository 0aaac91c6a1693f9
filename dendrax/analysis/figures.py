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


def growth_strip(xi_thw, time_s: Sequence[float], pixel_size_um: float, path: str, *,
                 lengths_um: Sequence[float] | None = None, suptitle: str | None = None) -> str:
  """PNG of all frames side by side, titled with the time (and the length if given)."""
  xi_thw = np.asarray(xi_thw)
  if xi_thw.ndim != 3:
    raise ValueError(f'xi must be [T, H, W]; got shape {xi_thw.shape}')
  t = len(xi_thw)
  fig, axes = plt.subplots(1, t, figsize=(1.9 * t + 0.6, 2.4), squeeze=False)
  for i, ax in enumerate(axes[0]):
    title = f'{float(time_s[i]):.0f} s'
    if lengths_um is not None:
      title += f'\nL = {float(lengths_um[i]):.1f} um'
    im = show_frame(ax, xi_thw[i], pixel_size_um, title)
    if i:
      ax.set_yticklabels([])
    else:
      ax.set_ylabel('y (um)', fontsize=8)
  fig.colorbar(im, ax=axes[0].tolist(), fraction=0.02, pad=0.01, label='xi (1 = metal)')
  if suptitle:
    fig.suptitle(suptitle, fontsize=10)
  with files.atomic_path(path) as tmp:
    fig.savefig(tmp, dpi=DPI, format='png', bbox_inches='tight')
  plt.close(fig)
  return path


def growth_animation(xi_thw, time_s: Sequence[float], pixel_size_um: float, path: str, *,
                     fps: int = 2) -> str:
  """GIF (Pillow) or MP4 (imageio-ffmpeg's bundled ffmpeg) of the growth, chosen by extension."""
  xi_thw = np.asarray(xi_thw)
  ext = os.path.splitext(path)[1].lower()
  if ext not in ('.gif', '.mp4'):
    raise ValueError(f'animation path {path!r}: extension must be .gif or .mp4')
  fig, ax = plt.subplots(figsize=(3.2, 3.2))
  im = show_frame(ax, xi_thw[0], pixel_size_um, f'{float(time_s[0]):.0f} s')
  ax.set_ylabel('y (um)', fontsize=8)

  def update(i):
    im.set_data(xi_thw[i])
    ax.set_title(f'{float(time_s[i]):.0f} s', fontsize=9)
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
