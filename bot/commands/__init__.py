"""The ``rights`` command's subcommands, one module per group; each adds its parsers in ``register``."""
