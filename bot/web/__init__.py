"""The web pages (驾驶舱): sign-in, sessions, scope and the read-only pages, served by the bot's HTTP server."""
