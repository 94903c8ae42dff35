"""Jobs off the request: the queue's workers and what they run."""
