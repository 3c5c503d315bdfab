"""Errors that frbench reports to the user: each message names the file, key or
device at fault and says what to do. Stages catch these (and only these, plus
runtime failures of a model) to write an error row instead of losing the result."""


class FrbenchError(Exception):
    """Base class of every error frbench raises on purpose."""


class CheckpointError(FrbenchError):
    """A checkpoint is missing, truncated, corrupt, or unsafe to load."""


class TrainingDiverged(FrbenchError):
    """The loss became NaN or infinite; no checkpoint is written."""


class ExportError(FrbenchError):
    """An exporter could not turn a model into its format."""


class BenchError(FrbenchError):
    """A benchmark could not run or its result is unusable."""


class ConfigError(FrbenchError, ValueError):
    """A configuration value is wrong; the message names the key."""
