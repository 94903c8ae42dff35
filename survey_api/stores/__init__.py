"""Stores: SQL only. They query and write inside the caller's transaction and never commit."""
