"""Shared machinery every area uses: artifacts (schemas, atomic I/O), spans (interval maths), registry, devices, progress, failures, video decoding."""
