"""Private container engines and registry-free test images (see README.md in this directory)."""
