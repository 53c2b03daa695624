"""File formats: one reader module per format."""
