"""Temporal event proposals: k-means TEP and its baselines, and their recall (rule, command and config section `proposals`)."""
