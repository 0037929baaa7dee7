"""The `diaodu` command line's subcommands (the parser and the dispatch are in ``bot.__main__``)."""
