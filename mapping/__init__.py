"""sparkxd: mapping package -- where the SNN's weights live in DRAM and what bit errors do to them.

* ``mapping.layout``   -- ``Layout`` (per-word DRAM locations) and the ``linear`` baseline layout.
* ``mapping.policies`` -- placement policies (linear, drmap, sparkxd, random) and their registry
  (``register_policy``, ``get_policy``, ``place``).
* ``mapping.physical`` -- logical weight-access stream + layout -> physical request trace.
* ``mapping.inject`` / ``mapping.guard`` / ``mapping.tolerance`` -- bit-error injection into stored
  words, the guard against corrupted values, and the network's error tolerance.
"""
from mapping.layout import CapacityError, Layout, linear  # noqa: F401
from mapping.physical import logical_to_requests  # noqa: F401
from mapping.policies import PlacementRequest, get_policy, place, policy_names, register_policy  # noqa: F401
