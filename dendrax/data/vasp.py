"""VASP runs -> metal-occupancy frames and physical parameters (the `dendrite_vasp` dataset).

A run is one folder holding any of vasprun.xml, XDATCAR, OUTCAR, CONTCAR/POSCAR (+ INCAR). The
ionic steps are read with `ase.io` from the first file present in `TRAJECTORY_FILES` order; INCAR
tags come from vasprun.xml's `<incar>` block (the values the user set; the `<parameters>` block
also lists VASP defaults, e.g. TEBEG for a relaxation, which would mislabel a run) or else from an
INCAR file. ase does not check that a vasprun.xml is complete (a truncated file silently gives
fewer frames), so `read_run` parses the whole XML first.

Geometry (`Projection`): the surface normal is the cell axis along which the metal atoms leave
the largest empty gap (periodic, fractional coordinates): the axis across the slab. The electrode
is the largest block of metal layers (solvated metal ions form small blocks); heights are measured
along the normal from one atomic radius below its bottom layer, so the electrode sits at y = 0 as
in the simulated frames. Each frame is cut into `n_slices` slices along a second in-plane axis;
the metal atoms of each slice are drawn as discs (covalent radius x `radius_scale`) on the plane
spanned by the normal and the remaining (lateral) axis, periodic along the lateral axis; the slices
are superimposed (max: occupied in any slice; mean: fraction of slices) -- the paper's
"superimposition of 2-D cross-sections". Skewed cells are projected obliquely along the slicing
cell vector (lateral coordinate = fractional coordinate x lattice length).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import xml.etree.ElementTree as ET

import ase
import ase.io
import numpy as np
from ase.data import atomic_numbers, covalent_radii
from scipy import ndimage

# Trajectory files in order of preference, with the ase format that reads each.
TRAJECTORY_FILES: tuple[tuple[str, str], ...] = (
    ('vasprun.xml', 'vasp-xml'), ('XDATCAR', 'vasp-xdatcar'), ('OUTCAR', 'vasp-out'),
    ('CONTCAR', 'vasp'), ('POSCAR', 'vasp'))
ANGSTROM_UM = 1e-4
FS_S = 1e-15
AVOGADRO = 6.02214076e23
V_PER_ANGSTROM_KV_PER_M = 1e7          # 1 V/A = 1e10 V/m = 1e7 kV/m
SUPERIMPOSE = ('max', 'mean')


class VaspReadError(ValueError):
  """A run file that cannot be used; the message names the file and the reason."""


@dataclasses.dataclass(frozen=True)
class VaspRun:
  """One VASP run: `frames` (ase.Atoms per saved ionic step), `steps` [T] their ionic step
  numbers (for times), `incar` (upper-case tag -> raw value string), `path` the file read,
  `incar_sources` (tag -> the file its value was read from: INCAR or vasprun.xml), so an error
  in a tag blames the file that holds it."""
  name: str
  path: str
  frames: tuple
  steps: np.ndarray
  incar: dict
  incar_sources: dict = dataclasses.field(default_factory=dict)


def run_file_patterns(kind: str) -> tuple[str, ...]:
  """Glob patterns of a `kind` file ('XDATCAR', 'vasprun.xml', ...): the bare name or the name
  with a prefix or suffix joined by '_', '-' or '.' (e.g. `Pt_XDATCAR`, `OUTCAR_1`)."""
  stem, dot, ext = kind.partition('.')
  if dot:
    return (kind, f'*[_.-]{kind}', f'{stem}[_.-]*.{ext}')
  return (kind, f'*[_.-]{kind}', f'{kind}[_.-]*')


def find_run_file(run_dir: str, kind: str) -> str | None:
  """Path of the `kind` file in `run_dir` (`run_file_patterns`); None if absent.

  Raises VaspReadError when two files match (ambiguous).
  """
  names = sorted(n for n in os.listdir(run_dir)
                 if any(fnmatch.fnmatchcase(n, p) for p in run_file_patterns(kind))
                 and os.path.isfile(os.path.join(run_dir, n)))
  if len(names) > 1:
    raise VaspReadError(f'{run_dir}: several {kind} files {names}; keep one per run folder')
  return os.path.join(run_dir, names[0]) if names else None


def read_incar_file(path: str) -> dict[str, str]:
  """INCAR tags (upper case) -> value strings; '#'/'!' start comments, ';' separates tags."""
  tags = {}
  try:
    with open(path, encoding='utf-8', errors='replace') as f:
      text = f.read()
  except OSError as e:
    raise VaspReadError(f'{path}: cannot read INCAR ({e.strerror})') from e
  for lineno, line in enumerate(text.splitlines(), 1):
    for part in line.split('#')[0].split('!')[0].split(';'):
      if not part.strip():
        continue
      if '=' not in part:
        raise VaspReadError(f'{path}: line {lineno}: expected TAG = value, got {part.strip()!r}')
      key, value = part.split('=', 1)
      tags[key.strip().upper()] = value.strip()
  return tags


def read_vasprun_incar(path: str) -> dict[str, str]:
  """The `<incar>` block of vasprun.xml; raises VaspReadError if the XML is incomplete."""
  tags = {}
  try:
    for _, elem in ET.iterparse(path, events=('end',)):
      if elem.tag == 'incar':
        tags = {i.get('name', '').upper(): (i.text or '').strip() for i in elem.iter('i')}
      if elem.tag == 'calculation':
        elem.clear()                       # keeps memory flat on long runs
  except ET.ParseError as e:
    raise VaspReadError(f'{path}: not well-formed XML, truncated or corrupt run ({e})') from e
  except OSError as e:
    raise VaspReadError(f'{path}: cannot read ({e.strerror})') from e
  return tags


def _xdatcar_steps(path: str) -> np.ndarray:
  """Ionic step numbers from XDATCAR's 'Direct configuration= N' lines."""
  steps = []
  with open(path, encoding='utf-8', errors='replace') as f:
    for line in f:
      if 'configuration=' in line:
        steps.append(int(line.split('=')[1].split()[0]))
  return np.asarray(steps, dtype=np.int64)


def check_outcar_complete(path: str) -> None:
  """VaspReadError unless the OUTCAR ends with VASP's final timing block (written on normal
  termination); ase would otherwise return the steps of a crashed or running job silently."""
  with open(path, 'rb') as f:
    f.seek(max(os.path.getsize(path) - 65536, 0))
    tail = f.read()
  if b'General timing and accounting' not in tail:
    raise VaspReadError(f'{path}: incomplete OUTCAR (no final "General timing" block: the run '
                        'crashed, was killed or is still running)')


def read_run(run_dir: str, name: str | None = None) -> VaspRun:
  """Reads the run in `run_dir` (see module docstring); VaspReadError names the file and reason."""
  name = name or os.path.basename(os.path.normpath(run_dir))
  found = [(find_run_file(run_dir, k), fmt) for k, fmt in TRAJECTORY_FILES]
  found = [(p, fmt) for p, fmt in found if p]
  if not found:
    raise VaspReadError(f'{run_dir}: no VASP file (looked for '
                        f'{", ".join(k for k, _ in TRAJECTORY_FILES)})')
  path, fmt = found[0]
  incar_path = find_run_file(run_dir, 'INCAR')
  incar = read_incar_file(incar_path) if incar_path else {}
  sources = {tag: incar_path for tag in incar}
  if fmt == 'vasp-xml':
    from_xml = read_vasprun_incar(path)
    incar = {**incar, **from_xml}
    sources.update({tag: path for tag in from_xml})
  if fmt == 'vasp-out':
    check_outcar_complete(path)
  try:
    frames = ase.io.read(path, index=':', format=fmt)
  except Exception as e:  # ase raises many types (ParseError, ValueError, IndexError, ...)
    raise VaspReadError(f'{path}: ase cannot parse it as {fmt} '
                        f'({type(e).__name__}: {str(e)[:200]})') from e
  frames = tuple(frames if isinstance(frames, list) else [frames])
  if not frames:
    raise VaspReadError(f'{path}: no ionic step found (empty or not a {fmt} file)')
  steps = np.arange(len(frames), dtype=np.int64)
  if fmt == 'vasp-xdatcar':
    parsed = _xdatcar_steps(path)
    if len(parsed) == len(frames):
      steps = parsed - parsed[0]
  return VaspRun(name=name, path=path, frames=frames, steps=steps, incar=incar,
                 incar_sources=sources)


def incar_float(incar: dict[str, str], tag: str, path: str = 'INCAR') -> float | None:
  """INCAR value as a finite float (first number; Fortran 'd' exponents accepted); None if
  absent. `path` is the file holding the tag (`VaspRun.incar_sources`), named in errors."""
  if tag not in incar:
    return None
  text = incar[tag].split()[0].lower().replace('d', 'e') if incar[tag].split() else ''
  try:
    value = float(text)
  except ValueError as e:
    raise VaspReadError(f'{path}: {tag} = {incar[tag]!r} is not a number') from e
  if not np.isfinite(value):
    raise VaspReadError(f'{path}: {tag} = {incar[tag]!r} is not a finite number')
  return value


# ---------------------------------------------------------------------------------------------
# Geometry


@dataclasses.dataclass(frozen=True)
class Projection:
  """Fixed for a run (from its first frame): axes, origin and scale of the maps.

  normal_axis / lateral_axis / slice_axis: cell-vector indices. bottom_frac: fractional
  coordinate along the normal of y = 0. thickness_a: distance between the lattice planes
  spanned by the in-plane vectors (the cell's extent along the normal), Angstrom.
  lateral_period_a: length of the lateral cell vector. pixel_size_a: map pixel size.
  """
  normal_axis: int
  lateral_axis: int
  slice_axis: int
  bottom_frac: float
  thickness_a: float
  lateral_period_a: float
  pixel_size_a: float


def _largest_gap(frac_N: np.ndarray) -> float:
  """Size of the largest periodic gap between the sorted fractional coordinates."""
  s = np.sort(np.mod(frac_N, 1.0))
  return float(np.max(np.diff(np.concatenate([s, s[:1] + 1.0]))))


def metal_mask(atoms: ase.Atoms, metal: str) -> np.ndarray:
  """[N] bool of the atoms of element `metal`; VaspReadError if there are none."""
  mask = np.asarray(atoms.get_chemical_symbols()) == metal
  if not mask.any():
    raise VaspReadError(f'no {metal} atom in the run (elements: '
                        f'{atoms.get_chemical_formula()}); set the builder config `metal`')
  return mask


def _electrode_bottom(frac_N: np.ndarray, gap_frac: float) -> float:
  """Fractional coordinate of the electrode's lowest atom along the normal.

  The sorted coordinates are cut into blocks at every periodic gap wider than `gap_frac`; the
  electrode is the block with the most atoms (solvated ions in the electrolyte form small
  blocks). Without such a gap (bulk), the block starts after the largest gap.
  """
  s = np.sort(np.mod(frac_N, 1.0))
  gaps = np.diff(np.concatenate([s, s[:1] + 1.0]))       # gaps[i]: from s[i] up to s[i+1]
  cuts = np.nonzero(gaps > gap_frac)[0]
  if cuts.size == 0:
    return float(s[(int(np.argmax(gaps)) + 1) % s.size])
  starts = (cuts + 1) % s.size                           # first atom of each block
  sizes = np.diff(np.concatenate([cuts, cuts[:1] + s.size]))
  return float(s[starts[int(np.argmax(sizes))]])


def make_projection(atoms: ase.Atoms, metal: str, *, frame_size: int, radius_a: float,
                    layer_gap_a: float = 3.0, normal_axis: int = -1,
                    extent_a: float = 0.0) -> Projection:
  """Projection of a run from its first frame.

  normal_axis -1 picks the cell axis with the largest empty gap in the metal's fractional
  coordinates. The electrode is the largest block of metal layers separated by less than
  `layer_gap_a` (`_electrode_bottom`); y = 0 lies `radius_a` below its lowest atom, so the bottom
  layer's discs fit. extent_a 0 maps the cell's thickness onto `frame_size` pixels.
  """
  frac = atoms.get_scaled_positions(wrap=True)[metal_mask(atoms, metal)]
  gaps = [_largest_gap(frac[:, k]) for k in range(3)]
  k = int(np.argmax(gaps)) if normal_axis < 0 else int(normal_axis)
  if k not in (0, 1, 2):
    raise ValueError(f'normal_axis must be -1, 0, 1 or 2; got {normal_axis}')
  cell = np.asarray(atoms.cell)
  i, j = [a for a in range(3) if a != k]
  thickness = abs(atoms.cell.volume) / np.linalg.norm(np.cross(cell[i], cell[j]))
  bottom = (_electrode_bottom(frac[:, k], layer_gap_a / thickness) - radius_a / thickness) % 1.0
  extent = extent_a if extent_a > 0 else thickness
  return Projection(normal_axis=k, lateral_axis=i, slice_axis=j, bottom_frac=float(bottom),
                    thickness_a=float(thickness), lateral_period_a=float(np.linalg.norm(cell[i])),
                    pixel_size_a=float(extent / frame_size))


def heights_a(atoms: ase.Atoms, proj: Projection) -> np.ndarray:
  """[N] heights of every atom along the normal above y = 0, Angstrom, in [0, thickness)."""
  frac = atoms.get_scaled_positions(wrap=True)[:, proj.normal_axis]
  return np.mod(frac - proj.bottom_frac, 1.0) * proj.thickness_a


def occupancy_map(atoms: ase.Atoms, metal: str, proj: Projection, *, frame_size: int,
                  radius_a: float, n_slices: int = 4, superimpose: str = 'max') -> np.ndarray:
  """[frame_size, frame_size] float32 metal occupancy, row 0 = electrode side (y = 0).

  Discs of `radius_a` around each metal atom, periodic along the lateral axis, drawn per slice
  along the slicing axis and superimposed by `max` (binary) or `mean` (fraction of slices).
  """
  if superimpose not in SUPERIMPOSE:
    raise ValueError(f'superimpose={superimpose!r} is not one of {SUPERIMPOSE}')
  if n_slices < 1:
    raise ValueError(f'n_slices must be >= 1; got {n_slices}')
  mask = metal_mask(atoms, metal)
  frac = atoms.get_scaled_positions(wrap=True)[mask]
  y_a = heights_a(atoms, proj)[mask]
  x_a = frac[:, proj.lateral_axis] * proj.lateral_period_a
  slice_of = np.minimum((frac[:, proj.slice_axis] * n_slices).astype(int), n_slices - 1)
  centres = (np.arange(frame_size) + 0.5) * proj.pixel_size_a
  period = proj.lateral_period_a
  dy2 = (centres[None, :] - y_a[:, None]) ** 2                                   # [N, H]
  dx = np.mod(centres[None, :] - x_a[:, None] + 0.5 * period, period) - 0.5 * period
  dx2 = dx ** 2                                                                  # [N, W]
  slices = np.zeros((n_slices, frame_size, frame_size), dtype=bool)
  for s in range(n_slices):
    sel = slice_of == s
    if sel.any():
      slices[s] = np.any(dy2[sel, :, None] + dx2[sel, None, :] <= radius_a ** 2, axis=0)
  combined = slices.max(axis=0) if superimpose == 'max' else slices.mean(axis=0)
  return combined.astype(np.float32)


def attached_to_electrode(occupancy_HxW: np.ndarray) -> np.ndarray:
  """Occupancy with only the connected components (8-neighbour) that touch row 0 (electrode).

  Removes metal atoms floating in the electrolyte (solvated ions), which are not deposit.
  """
  labels, _ = ndimage.label(occupancy_HxW > 0, structure=np.ones((3, 3)))
  keep = np.setdiff1d(np.unique(labels[0]), [0])
  return np.where(np.isin(labels, keep), occupancy_HxW, 0.0).astype(np.float32)


def radius_for(metal: str, radius_scale: float) -> float:
  """Disc radius of `metal`, Angstrom: ase's covalent radius x `radius_scale`."""
  if metal not in atomic_numbers:
    raise ValueError(f'metal={metal!r} is not an element symbol')
  if radius_scale <= 0:
    raise ValueError(f'radius_scale must be > 0; got {radius_scale}')
  return float(covalent_radii[atomic_numbers[metal]] * radius_scale)


def electrode_top_a(atoms: ase.Atoms, metal: str, proj: Projection, layer_gap_a: float) -> float:
  """Height of the electrode's top layer, Angstrom: scanning the metal heights upwards from the
  bottom, the last one before a jump larger than `layer_gap_a` (an empty layer)."""
  h = np.sort(heights_a(atoms, proj)[metal_mask(atoms, metal)])
  jumps = np.nonzero(np.diff(h) > layer_gap_a)[0]
  return float(h[jumps[0]] if jumps.size else h[-1])


def electrolyte_region(atoms: ase.Atoms, metal: str, proj: Projection, *,
                       layer_gap_a: float) -> tuple[np.ndarray, float]:
  """([N] bool atoms above the electrode's top layer, region volume in Angstrom^3).

  The region spans from the electrode top to the periodic image of y = 0 (for a liquid-filled
  cell, the liquid plus its contact layers; a vacuum layer would be counted as volume too).
  """
  top = electrode_top_a(atoms, metal, proj, layer_gap_a)
  above = heights_a(atoms, proj) > top + 1e-6
  area = abs(atoms.cell.volume) / proj.thickness_a
  return above, float(area * max(proj.thickness_a - top, 0.0))


def _incar_float(run: VaspRun, tag: str) -> float | None:
  return incar_float(run.incar, tag, run.incar_sources.get(tag) or run.path)


def run_parameters(run: VaspRun, metal: str, proj: Projection, *, ion_species: str,
                   layer_gap_a: float) -> tuple[dict[str, float], dict[str, str]]:
  """Physical parameters found in the run (schema names, physical units) and notes.

  temperature_k: TEBEG, or the mean of TEBEG and TEEND when both are set (a ramp has no single
  temperature; the note says so). field_strength_kv_per_m: EFIELD (V/A, x 1e7). ion_concentration:
  `ion_species` atoms above the electrode top of the first frame per electrolyte volume, mol/m^3,
  only when positive (the parameter is log-scaled). Returns (values, notes); notes maps 'time_step_fs',
  'electrolyte' (formula) and the reason for each value left out.
  """
  values, notes = {}, {}
  tebeg = _incar_float(run, 'TEBEG')
  teend = _incar_float(run, 'TEEND')
  if tebeg is not None:
    values['temperature_k'] = tebeg if teend is None else 0.5 * (tebeg + teend)
    if teend is not None and teend != tebeg:
      notes['temperature_k'] = f'ramp TEBEG={tebeg} -> TEEND={teend}; mean used'
  else:
    notes['temperature_k'] = 'no TEBEG in INCAR'
  efield = _incar_float(run, 'EFIELD')
  if efield is not None:
    values['field_strength_kv_per_m'] = abs(efield) * V_PER_ANGSTROM_KV_PER_M
  atoms = run.frames[0]
  above, volume_a3 = electrolyte_region(atoms, metal, proj, layer_gap_a=layer_gap_a)
  if above.any() and volume_a3 > 0:
    notes['electrolyte'] = atoms[above].get_chemical_formula()
    n_ions = int(np.sum(np.asarray(atoms.get_chemical_symbols())[above] == ion_species))
    conc = n_ions / AVOGADRO / (volume_a3 * 1e-30)
    if conc > 0:
      values['ion_concentration_mol_m3'] = conc
    else:
      notes['ion_concentration_mol_m3'] = f'no {ion_species} in the electrolyte region'
  else:
    notes['ion_concentration_mol_m3'] = 'no electrolyte region above the electrode'
  potim = _incar_float(run, 'POTIM')
  if potim is not None:
    notes['time_step_fs'] = str(potim)
  return values, notes
