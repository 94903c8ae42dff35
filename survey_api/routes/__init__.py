"""HTTP routes: thin controllers over the stores and the pure core."""
