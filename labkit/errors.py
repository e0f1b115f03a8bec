"""labkit's own error type: the command line prints it as one line, without a traceback."""


class LabkitError(Exception):
    """An error whose message is meant for the user: the CLI prints it as one line."""
