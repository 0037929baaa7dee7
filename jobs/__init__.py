"""Scheduled jobs run by the application's scheduler."""
