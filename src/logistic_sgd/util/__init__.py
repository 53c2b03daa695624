"""The ground floor: atomic file writes, where arrays live, optional dependencies."""
