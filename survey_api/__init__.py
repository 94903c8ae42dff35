"""survey-api: the shell (Litestar app, storage, CLI, embedded PostgreSQL)."""
