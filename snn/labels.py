"""Label assignment and prediction from spike counts, as in Diehl & Cook's evaluation.

* A neuron is assigned the class for which its mean spike count over that class's training
  images is highest (strictly: ties go to the lower class, as the original's ``>`` scan);
  a neuron that never fired stays unassigned (-1).
* An image is classified as the class whose assigned neurons have the highest mean spike count.
  Classes without neurons score 0.  Ties go to the *highest* class, as the original's
  ``np.argsort(summed_rates)[::-1][0]`` does (so an image with no spikes at all is a 9).
"""
from __future__ import annotations

import numpy as np


def _check_counts(counts) -> np.ndarray:
    counts = np.asarray(counts)
    if counts.ndim != 2:
        raise ValueError(f"spike counts must be 2-D [images, neurons], got shape {counts.shape}")
    return counts


def assign_labels(counts, labels, n_classes: int = 10) -> np.ndarray:
    """int64 [N]: class of each neuron (-1 = never fired on these images)."""
    counts = _check_counts(counts)
    labels = np.asarray(labels).reshape(-1)
    if labels.shape[0] != counts.shape[0]:
        raise ValueError(f"assign_labels: {counts.shape[0]} count rows but {labels.shape[0]} labels")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"assign_labels: labels must lie in 0..{n_classes - 1}")
    rates = np.zeros((n_classes, counts.shape[1]), dtype=np.float64)
    for c in range(n_classes):
        members = labels == c
        if members.any():
            rates[c] = counts[members].mean(axis=0)
    best = rates.argmax(axis=0)
    return np.where(rates.max(axis=0) > 0, best, -1).astype(np.int64)


def class_scores(counts, neuron_labels, n_classes: int = 10) -> np.ndarray:
    """float64 [images, classes]: mean spike count of each class's neurons (0 if none)."""
    counts = _check_counts(counts)
    neuron_labels = np.asarray(neuron_labels).reshape(-1)
    if neuron_labels.shape[0] != counts.shape[1]:
        raise ValueError(f"class_scores: {counts.shape[1]} neurons but {neuron_labels.shape[0]} "
                         "neuron labels")
    scores = np.zeros((counts.shape[0], n_classes), dtype=np.float64)
    for c in range(n_classes):
        members = neuron_labels == c
        if members.any():
            scores[:, c] = counts[:, members].mean(axis=1)
    return scores


def predict(counts, neuron_labels, n_classes: int = 10) -> np.ndarray:
    """int64 [images]: predicted class of each image (ties: highest class)."""
    scores = class_scores(counts, neuron_labels, n_classes)
    return (n_classes - 1 - scores[:, ::-1].argmax(axis=1)).astype(np.int64)


def confusion_matrix(true, predicted, n_classes: int = 10) -> np.ndarray:
    """int64 [true class, predicted class] counts."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return m
