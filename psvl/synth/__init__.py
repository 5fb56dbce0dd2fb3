"""The synthetic world: a small, seeded dataset in the real formats, written by world_writer.generate (docs/synth.md)."""
