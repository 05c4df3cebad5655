"""Reference implementations of the services behind the kt2ops contract, for the lab."""

__version__ = "0.1.0"
