"""The web pages, one module per kind of page."""
