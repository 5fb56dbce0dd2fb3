"""psvl: zero-shot natural language video localization (PSVL, ICCV 2021) as a workflow."""

__version__ = "0.1.0"
