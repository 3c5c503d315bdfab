"""The one exception the data stage raises for bad data or bad data files."""

from ..errors import FrbenchError


class DataError(FrbenchError, ValueError):
    """Bad input data or a bad dataset file; the message names the file or config key and what to do."""
