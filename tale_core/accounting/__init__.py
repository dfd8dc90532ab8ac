"""Token counts and prices: what a call spent."""
