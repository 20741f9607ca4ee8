"""The HTTP door: REST API under /api/v1, answers as JSON, errors as problem details."""
