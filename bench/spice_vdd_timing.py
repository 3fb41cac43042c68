"""Reduced-VDD core latencies from the Voltron LTspice array model, simulated with ngspice.

    python -m bench.spice_vdd_timing [--data DIR] [--out dramsim/data/vdd_timing_spice.csv]

Reproduces ``dramsim/data/vdd_timing_spice.csv`` (the ``spice`` timing model of
``dramsim.vdd.spec_at_vdd``). Needs ngspice on PATH (Debian: ``apt-get install ngspice``); about
6 minutes on 2 cores. The data directory defaults to ``../shared/data/voltron`` beside the repo.

What it does:

1. **Schematic -> netlist.** ``SPICE_circuit_model/voltron_spice.asc`` (Chang et al.,
   SIGMETRICS 2017, section 4.2 and appendix C; CMU-SAFARI/DRAM-Voltage-Study) is an LTspice
   schematic: wires, net labels (FLAG) and the standard symbols ``nmos4``, ``pmos4``, ``res``,
   ``cap`` and ``voltage``. Each symbol's pins sit at fixed offsets of the standard LTspice
   symbols (e.g. ``nmos4``: D (48,0), G (0,80), S (48,96), B (48,48)), turned by the symbol's
   orientation (R0/R90/R180/R270 rotate, M0/M90/M180/M270 rotate then mirror x); pins that touch
   a wire end, a wire segment or a label join that net (union-find). Every pin of every symbol
   lands on a wire or label (checked: an unconnected pin is an error). Net names are
   case-insensitive as in LTspice (``sense_p`` = ``sense_P``). A source's ``Rser``/``Cpar`` become
   a series resistor and a capacitor across its terminals. The transistor models
   (``cmosedu_models.txt``: PTM 45 nm LP/HP BSIM4, level 54) are included unchanged.
2. **Two additions** the schematic leaves to LTspice: the gate of the second array's cell
   transistor (net ``ra3``) has no driver, so it is held at 0 V (that word line is closed), and
   the ``.step`` list of the schematic (1.35 V and 1.1 V) is replaced by one run per VDD from
   1.35 V down to 1.0 V in 25 mV steps, with ``vddhalf = vdd / 2`` and the schematic's ``.ic``
   (bit lines at VDD/2, the cell at VDD: a stored 1). Solver: ``.options method=gear``,
   ``.tran 0.01n 230n uic``.
3. **Latencies** (the stimulus is fixed: word line up at 30 ns, sense amplifier enabled at
   34 ns, word line down at 130 ns, equalisation from 133 ns):

   * tRCD: from 30 ns until bit line 0 stays above 0.75 VDD (ready to access);
   * tRAS: from 30 ns until the cell (``mb0`` minus its plate) stays above 0.98 VDD (restored);
   * tRP: from 130 ns until both bit lines stay within 2 % of VDD of VDD/2 (precharged).

   The thresholds are our choice (ready-to-access and restored levels as in the latency papers
   of the same group; 1 % and 5 % precharge tolerances are printed too). The model is a generic
   45 nm circuit, not any DIMM of the study, so the shipped table keeps only the *increase*
   over the 1.35 V latencies (a constant guardband in ns) and adds it to the device's datasheet
   latencies: t(V) = t_datasheet + (t_sim(V) - t_sim(1.35 V)).
"""
from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.fit_spatial import default_data_dir

PINS = {  # standard LTspice symbols, pin offsets at R0 in SPICE order
    "res": [(16, 16), (16, 96)], "cap": [(16, 0), (16, 64)], "voltage": [(0, 16), (0, 96)],
    "nmos4": [(48, 0), (0, 80), (48, 96), (48, 48)], "pmos4": [(48, 0), (0, 80), (48, 96), (48, 48)],
}
VDDS = tuple(round(1.35 - 0.025 * i, 3) for i in range(15))     # 1.35 .. 1.0 V
T_ACT, T_PRE = 30e-9, 130e-9
READY, RESTORED, PRECHARGED = 0.75, 0.98, 0.02


class SchematicError(ValueError):
    """The .asc cannot be turned into a netlist; one line."""


def _orient(x: int, y: int, rot: str) -> tuple[int, int]:
    """Pin offset (x, y) of a symbol placed with LTspice orientation ``rot``."""
    if not re.fullmatch(r"[RM](0|90|180|270)", rot):
        raise SchematicError(f"unknown orientation {rot!r}")
    for _ in range(int(rot[1:]) // 90):
        x, y = -y, x
    return (-x, y) if rot[0] == "M" else (x, y)


def parse_asc(path: Path):
    """(wires, flags, symbols, directives) of an LTspice schematic."""
    wires, flags, syms, texts = [], [], [], []
    cur = None
    for lineno, line in enumerate(path.read_text(encoding="latin-1").splitlines(), 1):
        t = line.split()
        if not t:
            continue
        try:
            if t[0] == "WIRE":
                wires.append(tuple(map(int, t[1:5])))
            elif t[0] == "FLAG":
                flags.append((int(t[1]), int(t[2]), t[3].lower()))
            elif t[0] == "SYMBOL":
                if t[1] not in PINS:
                    raise SchematicError(f"{path}:{lineno}: symbol {t[1]!r} is not one this converter knows")
                cur = {"kind": t[1], "x": int(t[2]), "y": int(t[3]), "rot": t[4], "attr": {}, "line": lineno}
                syms.append(cur)
            elif t[0] == "SYMATTR" and cur is not None:
                cur["attr"][t[1]] = line.split(None, 2)[2].strip()
            elif t[0] == "TEXT" and len(t) > 5 and t[5].startswith("!"):
                texts.append(line.split(None, 5)[5][1:].strip())
        except (ValueError, IndexError) as exc:
            raise SchematicError(f"{path}:{lineno}: cannot parse {t[0]} line ({exc})") from None
    return wires, flags, syms, texts


def netlist_elements(path: Path) -> tuple[list[str], list[str]]:
    """(element lines, schematic directives) of the schematic, nets joined as LTspice does."""
    wires, flags, syms, texts = parse_asc(path)
    parent: dict = {}

    def find(a):
        parent.setdefault(a, a)
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for x1, y1, x2, y2 in wires:
        parent[find((x1, y1))] = find((x2, y2))
    for s in syms:
        s["pins"] = [(s["x"] + dx, s["y"] + dy) for dx, dy in (_orient(px, py, s["rot"]) for px, py in PINS[s["kind"]])]
    ends = {(x1, y1) for x1, y1, _, _ in wires} | {(x2, y2) for _, _, x2, y2 in wires}
    touch = list(ends) + [p for s in syms for p in s["pins"]] + [(x, y) for x, y, _ in flags]
    for p in touch:
        for x1, y1, x2, y2 in wires:
            on = ((x2 - x1) * (p[1] - y1) == (y2 - y1) * (p[0] - x1)
                  and min(x1, x2) <= p[0] <= max(x1, x2) and min(y1, y2) <= p[1] <= max(y1, y2))
            if on:
                parent[find(p)] = find((x1, y1))
    names: dict = {}
    for x, y, n in flags:
        r = find((x, y))
        if names.get(r, n) != n:
            raise SchematicError(f"{path}: labels {names[r]!r} and {n!r} name the same net")
        names[r] = n
    known = set(parent)
    for s in syms:
        for p in s["pins"]:
            if p not in known and not any(p == (fx, fy) for fx, fy, _ in flags):
                raise SchematicError(f"{path}:{s['line']}: pin {p} of {s['attr'].get('InstName')} touches no wire")
    counter = [0]

    def net(p):
        r = find(p)
        if r not in names:
            counter[0] += 1
            names[r] = f"n{counter[0]:03d}"
        return names[r]

    def si(v):   # LTspice 24fF / 0.6pF -> SPICE 24f / 0.6p
        return re.sub(r"(?i)([0-9.])([fpnumk])f\b", r"\1\2", v)

    out = []
    for s in syms:
        a, nodes = s["attr"], [net(p) for p in s["pins"]]
        name, value = a["InstName"], a.get("Value", "")
        if s["kind"] in ("nmos4", "pmos4"):
            out.append(f"{name} {' '.join(nodes)} {value} {a.get('Value2', '')}".rstrip())
        elif s["kind"] in ("res", "cap"):
            out.append(f"{name} {nodes[0]} {nodes[1]} {si(value)}")
        else:
            line = a.get("SpiceLine", "")
            rser, cpar = re.search(r"Rser=(\S+)", line), re.search(r"Cpar=(\S+)", line)
            if rser:
                out.append(f"{name} {name}_int {nodes[1]} {value}")
                out.append(f"R{name}_ser {name}_int {nodes[0]} {rser.group(1)}")
            else:
                out.append(f"{name} {nodes[0]} {nodes[1]} {value}")
            if cpar:
                out.append(f"C{name}_par {nodes[0]} {nodes[1]} {si(cpar.group(1))}")
    return out, texts


def deck(asc: Path, models: Path, vdd: float, out_file: Path) -> str:
    elements, texts = netlist_elements(asc)
    cell = next((e.split() for e in elements if e.lower().startswith("cmbit0 ")), None)
    if cell is None:
        raise SchematicError(f"{asc}: no cell capacitor Cmbit0")
    params = [t for t in texts if t.lower().startswith(".param") and "table(" not in t]
    return "\n".join([
        f"* {asc.name} at VDD = {vdd} V (converted by bench.spice_vdd_timing)",
        f".param vdd={vdd} vddhalf={vdd / 2}", *params, f".include {models}", *elements,
        "Vra3_hold ra3 0 0",                       # undriven word line of array 1: closed
        f".ic v(bitline0)={vdd / 2} v(bitline1)={vdd / 2} v(mb0)={vdd}",
        ".options method=gear reltol=1e-4", ".tran 0.01n 230n uic", ".control", "run",
        f"wrdata {out_file} v(bitline0) v(bitline1) v({cell[1]}) v({cell[2]})", ".endc", ".end", ""])


def settle_time(t, y, level, t0, above=True) -> float:
    """Time after ``t0`` from which ``y`` stays above (below) ``level``, linearly interpolated."""
    m = t >= t0
    t, y = t[m], y[m]
    ok = y >= level if above else y <= level
    if not ok[-1]:
        return math.nan
    bad = np.flatnonzero(~ok)
    if not len(bad):
        return 0.0
    i = bad[-1] + 1
    return float(t[i - 1] + (level - y[i - 1]) * (t[i] - t[i - 1]) / (y[i] - y[i - 1]) - t0)


def latencies(wave: np.ndarray, vdd: float) -> dict:
    t, bl0, bl1, mb0, plate = wave[:, 0], wave[:, 1], wave[:, 3], wave[:, 5], wave[:, 7]
    act = t < T_PRE - 1e-9
    dev = np.maximum(abs(bl0 - vdd / 2), abs(bl1 - vdd / 2))
    out = {"tRCD": settle_time(t[act], bl0[act], READY * vdd, T_ACT),
           "tRAS": settle_time(t[act], (mb0 - plate)[act], RESTORED * vdd, T_ACT)}
    for tol in (PRECHARGED, 0.01, 0.05):
        out[f"tRP@{tol:g}"] = settle_time(t, dev, tol * vdd, T_PRE, above=False)
    out["tRP"] = out[f"tRP@{PRECHARGED:g}"]
    return {k: v * 1e9 for k, v in out.items()}


def simulate(asc: Path, models: Path, vdd: float, work: Path) -> dict:
    out_file = work / f"w_{vdd:.3f}.txt"
    cir = work / f"v_{vdd:.3f}.cir"
    cir.write_text(deck(asc, models, vdd, out_file))
    r = subprocess.run(["ngspice", "-b", str(cir)], capture_output=True, text=True)
    if not out_file.exists() or out_file.stat().st_size == 0:   # ngspice -b exits 1 without .plot
        raise RuntimeError(f"ngspice failed at {vdd} V: {r.stderr.strip().splitlines()[-1:] or r.returncode}")
    return latencies(np.loadtxt(out_file), vdd)


PROG = "python -m bench.spice_vdd_timing"
MODEL_FILES = ("SPICE_circuit_model/voltron_spice.asc", "SPICE_circuit_model/cmosedu_models.txt")


def build_parser():
    from traces.cli import Parser
    ap = Parser(prog=PROG, description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=None,
                    help="the voltron/ data directory (default ../shared/data/voltron)")
    ap.add_argument("--out", type=Path, default=None,
                    help="write the CSV here (default: print only; the directory must exist)")
    return ap


def _main(argv) -> int:
    from bench.fit_spatial import check_data_dir
    from traces.cli import CliError, check_outputs
    a = build_parser().parse_args(argv)
    data = a.data or default_data_dir() / "voltron"
    check_data_dir(data, "--data" if a.data else "data directory", MODEL_FILES)
    asc, models = (data / f for f in MODEL_FILES)
    check_outputs({"--out": a.out}, inputs=[asc, models])
    if shutil.which("ngspice") is None:
        raise CliError("ngspice: not on PATH (Debian: apt-get install ngspice)")
    try:
        netlist_elements(asc)
    except SchematicError as exc:
        raise CliError(str(exc)) from None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for v in VDDS:
            try:
                rows.append((v, simulate(asc, models, v, Path(tmp))))
            except RuntimeError as exc:           # ngspice itself failed: not bad input
                print(f"{PROG}: error: {exc}", file=sys.stderr)
                return 1
            r = rows[-1][1]
            print(f"VDD {v:.3f} V: tRCD {r['tRCD']:6.2f} ns  tRAS {r['tRAS']:6.2f} ns  tRP {r['tRP']:5.2f} ns "
                  f"(1 %: {r['tRP@0.01']:5.2f}, 5 %: {r['tRP@0.05']:5.2f})", flush=True)
    base = rows[0][1]
    lines = ["# Reduced-VDD increase of tRCD/tRAS/tRP over their 1.35 V values, in ns, simulated with",
             "# ngspice from the LTspice array model of Chang et al., SIGMETRICS 2017 (arXiv 1705.10292,",
             "# section 4.2, appendix C; CMU-SAFARI/DRAM-Voltage-Study SPICE_circuit_model/), by",
             "# `python -m bench.spice_vdd_timing` (its docstring: conversion, thresholds). Used by",
             "# dramsim.vdd (timing model 'spice'): t(V) = t_datasheet + d_t(V).",
             "# Absolute simulated latencies at 1.35 V (ns): " +
             ", ".join(f"{k} {base[k]:.2f}" for k in ("tRCD", "tRAS", "tRP")),
             "vdd,dtRCD_ns,dtRAS_ns,dtRP_ns"]
    worst = {k: 0.0 for k in ("tRCD", "tRAS", "tRP")}
    for v, r in rows:   # a lower VDD is never faster: running maximum from 1.35 V down
        worst = {k: max(worst[k], r[k] - base[k]) for k in worst}
        lines.append(f"{v:.3f}," + ",".join(f"{worst[k]:.2f}" for k in ("tRCD", "tRAS", "tRP")))
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if a.out:
        from traces.atomic import atomic_output
        with atomic_output(a.out, "w") as fh:
            fh.write(text)
    return 0


def main(argv=None) -> int:
    """The command line: exit status 0 ok, 1 ngspice failed, 2 bad input (nothing written), 130
    interrupted."""
    from traces.cli import run
    return run(PROG, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
