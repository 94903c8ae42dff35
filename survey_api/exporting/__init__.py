"""Exports: a form's records read from a server-side cursor, laid out by `exports`, written off the loop."""
