"""Channel-agnostic handlers: parse, call the domain, render a template."""
