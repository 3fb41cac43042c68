"""sparkxd: bench package."""
