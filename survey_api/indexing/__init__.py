"""The city index: a project's clean records located in its areas, reduced by `cityindex`, rendered."""
