class LabkitError(Exception):
    """An error whose message is meant for the user: the CLI prints it as one line."""
