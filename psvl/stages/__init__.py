"""Stages: each a plain function over artifact tables, with a thin `psvl <stage>` command around it."""
