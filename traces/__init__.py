"""sparkxd: traces package."""
