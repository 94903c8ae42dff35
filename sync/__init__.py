"""Sync: pure batch wire types, normalisation, hashing, duplicate scoring, merging and survivorship."""
