"""The one exception the sweep CLI turns into ``error: <message>`` and exit status 2."""


class UsageError(ValueError):
    """A bad option or input file, detected before any output is written."""
