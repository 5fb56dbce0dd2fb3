"""Shared machinery every area uses: artifacts (schemas, atomic I/O), spans (interval maths), user errors, bootstrap intervals, registry, devices, progress, failures, video decoding."""
