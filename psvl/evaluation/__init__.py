"""Evaluation: R@IoU and mIoU with baselines, per-stage counts and the report's figures (workflow/rules/evaluation.smk)."""
