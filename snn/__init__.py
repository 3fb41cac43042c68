"""sparkxd: snn package."""
