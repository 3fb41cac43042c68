"""sparkxd: mapping package."""
