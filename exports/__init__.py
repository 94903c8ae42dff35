"""Exports: pure column schema, row flattening, writers and indicators."""
