"""Stand-ins: segment features and detections made from Charades' action timelines (no video is read)."""
