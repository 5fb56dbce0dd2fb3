"""Visual features: one vector per temporal segment from torchvision 2D/3D backbones, the trained detector's backbone, or precomputed files (rule, command and config section `features`)."""
