"""Errors of bad input that every layer raises (light: importable from anywhere)."""


class ConfigError(ValueError):
    """A config that does not match the schema or the registry."""
