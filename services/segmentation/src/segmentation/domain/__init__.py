"""The segmentation rules as plain Python: no I/O, no framework."""
