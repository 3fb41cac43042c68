"""Reduced-voltage DRAM bit errors: BER(VDD) from measured data, error models, fault maps.

* :mod:`dramsim.errors.ber_vdd` -- BER as a function of VDD (Voltron data or a user CSV).
* :mod:`dramsim.errors.models` -- the four EDEN-style error models and spatial variation.
* :mod:`dramsim.errors.fault_map` -- seeded, hash-based fault maps evaluated only where asked.
* :mod:`dramsim.errors.spatial` -- named bank/subarray spread models (fitted to Voltron data).
"""
from dramsim.errors.ber_vdd import (STATISTICS, BerCurve, BerError, NotOperatingError, curve_by_name_or_path,
                                    dimm_names, line_fraction_to_ber, voltron_curve, voltron_names)
from dramsim.errors.fault_map import FaultMap, flip_masks_numpy
from dramsim.errors.models import MODEL_NAMES, ErrorParams, parse_model, region_ber
from dramsim.errors.spatial import SPREAD_MODELS, error_params_for
__all__ = ["BerCurve", "BerError", "NotOperatingError", "STATISTICS", "curve_by_name_or_path", "dimm_names",
           "line_fraction_to_ber", "voltron_curve", "voltron_names", "SPREAD_MODELS", "error_params_for",
           "FaultMap", "flip_masks_numpy", "MODEL_NAMES", "ErrorParams", "parse_model", "region_ber"]
