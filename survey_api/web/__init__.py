"""HTTP plumbing: authentication, access, bodies, media, paging, problems, the OpenAPI document."""
