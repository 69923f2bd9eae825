"""Number-format emulation shared by backends (one implementation of each rounding rule)."""
