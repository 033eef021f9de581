"""Lambda entry points: thin edges over the core functions."""
