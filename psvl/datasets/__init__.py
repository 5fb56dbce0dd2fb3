"""Dataset adapters: every format is read into the one annotations table (seconds) and written back."""
