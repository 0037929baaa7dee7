"""Use cases shared by chat handlers, scheduled jobs, the command line and web pages.

Services call storage and the pure rules of ``bot.domain``; they know no chat channel.
"""
