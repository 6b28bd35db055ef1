"""Chat commands, one module per command. Importing this package registers them all."""

from handlers import help  # noqa: F401
