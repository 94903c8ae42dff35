"""`survey-api demo`: a Korat field campaign sent through the real HTTP API, tablet to city index."""
