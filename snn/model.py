"""The trainable state of one Diehl & Cook network: weights, adaptive thresholds, labels.

``weights`` is input-major (row ``i`` = the fan-out of input ``i`` to all neurons).  This is the
layout the accelerator keeps in DRAM: every input spike reads one row, so the DRAM weight-access
stream (snn.access) is a stream of row reads.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snn.params import MODEL_VERSION, NetworkParams


@dataclass
class Model:
    params: NetworkParams
    weights: np.ndarray            # float32 [n_inputs, n_neurons], input-major
    theta: np.ndarray              # float32 [n_neurons], mV
    labels: np.ndarray             # int64 [n_neurons], -1 = unassigned
    seed: int = 0
    weight_format: str = "fp32"
    version: int = MODEL_VERSION

    def __post_init__(self):
        p = self.params
        self.weights = np.ascontiguousarray(self.weights, dtype=np.float32)
        self.theta = np.ascontiguousarray(self.theta, dtype=np.float32)
        self.labels = np.ascontiguousarray(self.labels, dtype=np.int64)
        if self.weights.shape != (p.n_inputs, p.n_neurons):
            raise ValueError(f"Model.weights has shape {self.weights.shape}, expected "
                             f"({p.n_inputs}, {p.n_neurons})")
        if self.theta.shape != (p.n_neurons,):
            raise ValueError(f"Model.theta has shape {self.theta.shape}, expected ({p.n_neurons},)")
        if self.labels.shape != (p.n_neurons,):
            raise ValueError(f"Model.labels has shape {self.labels.shape}, expected "
                             f"({p.n_neurons},)")

    @classmethod
    def new(cls, params: NetworkParams | None = None, seed: int = 0) -> "Model":
        """Untrained network as in the original: w = (U[0,1) + 0.01) * 0.3, theta = 20 mV.

        (The original draws the matrix once with numpy's legacy RNG; we use
        ``np.random.default_rng(seed)``, so the values differ but the distribution is the same.)
        """
        params = params or NetworkParams()
        rng = np.random.default_rng(seed)
        u = rng.random((params.n_inputs, params.n_neurons), dtype=np.float64)
        weights = ((u + params.w_init_offset) * params.w_init_scale).astype(np.float32)
        theta = np.full(params.n_neurons, params.theta_init_mv, dtype=np.float32)
        labels = np.full(params.n_neurons, -1, dtype=np.int64)
        return cls(params=params, weights=weights, theta=theta, labels=labels, seed=int(seed))

    def copy(self) -> "Model":
        return Model(params=self.params, weights=self.weights.copy(), theta=self.theta.copy(),
                     labels=self.labels.copy(), seed=self.seed, weight_format=self.weight_format,
                     version=self.version)

    @property
    def n_neurons(self) -> int:
        return self.params.n_neurons

    @property
    def n_inputs(self) -> int:
        return self.params.n_inputs
