"""Errors a user can fix: the CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """A bad recipe, config, path or name: printed as ``error: <message>``, exit code 2."""
