"""The review workflow: duplicate and conflict decisions, rescans, record views."""
