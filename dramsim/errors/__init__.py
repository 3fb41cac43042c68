"""Reduced-voltage DRAM bit errors: BER(VDD) from measured data, error models, fault maps.

* :mod:`dramsim.errors.ber_vdd` -- BER as a function of VDD (Voltron data or a user CSV).
* :mod:`dramsim.errors.models` -- the four EDEN-style error models and spatial variation.
* :mod:`dramsim.errors.fault_map` -- seeded, hash-based fault maps evaluated only where asked.
"""
from dramsim.errors.ber_vdd import BerCurve, BerError, line_fraction_to_ber, voltron_curve, voltron_names
from dramsim.errors.fault_map import FaultMap, flip_masks_numpy
from dramsim.errors.models import MODEL_NAMES, ErrorParams, parse_model, region_ber

__all__ = ["BerCurve", "BerError", "line_fraction_to_ber", "voltron_curve", "voltron_names",
           "FaultMap", "flip_masks_numpy", "MODEL_NAMES", "ErrorParams", "parse_model", "region_ber"]
