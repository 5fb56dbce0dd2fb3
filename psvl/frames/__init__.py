"""Frames: decode each video of a shard with PyAV and keep sampled frames as JPEG bytes (rule, command and config section `frames`)."""
