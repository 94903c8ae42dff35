"""The intake workflow: judging a batch, edits, duplicate placement, the helper processes."""
