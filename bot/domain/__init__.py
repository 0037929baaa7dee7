"""Pure domain rules: no I/O, no channel, no clock of their own."""
