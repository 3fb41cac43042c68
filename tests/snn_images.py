"""Synthetic digit-like images for the SNN tests: a random set of lit pixels on a dark ground."""
import numpy as np


def random_images(n: int, seed: int, lit_min: int = 80, lit_max: int = 200) -> np.ndarray:
    """uint8 [n, 784]; each image lights between lit_min and lit_max random pixels (1..255)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 784), np.uint8)
    for b in range(n):
        on = rng.choice(784, size=rng.integers(lit_min, lit_max), replace=False)
        images[b, on] = rng.integers(1, 256, size=len(on))
    return images
