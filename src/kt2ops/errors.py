"""The root of every error kt2ops raises for the operator to read.

A subclass's message is complete as it stands: it names the file, field, host or step and what to do. The
command line and the action plugins' base turn any of them into their own failure in one place each, so a new
error class needs no handler of its own.
"""


class Kt2OpsError(Exception):
    """Bad input or a refused operation; the message is what the operator reads."""
