"""Persistence: models, migrations, repositories and the session scope."""
