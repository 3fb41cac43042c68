"""sparkxd: dramsim package."""
