"""Errors users see: each names the input at fault and what was expected."""


class DopwfInputError(ValueError):
    """Bad user input (file, option, study field). The message names the input and what was expected."""
