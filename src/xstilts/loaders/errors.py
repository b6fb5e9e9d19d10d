"""Error type raised by every loader."""


class DataFormatError(ValueError):
    """A benchmark file is missing or does not have the expected format."""
