"""Operating the bot for real: backups and restores, metrics and health, structured logs.

Leadership (one active scheduler and outbox sender among several `diaodu run` processes) lives in
``storage.leader``, next to the database it is decided on.
"""
