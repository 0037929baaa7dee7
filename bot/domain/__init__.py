"""Pure domain rules and the value types every layer shares: no I/O, no channel, no clock of their own."""
