"""The language side: one tagger; corpus statistics, pseudo-queries and test-query simplification (workflow/rules/language.smk)."""
