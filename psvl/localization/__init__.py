"""The localization model: PSVLNet, its vocabulary and batches, training and prediction (workflow/rules/localization.smk)."""
