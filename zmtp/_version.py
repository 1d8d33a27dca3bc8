"""The one place the version lives (read by hatchling and ``python -m zmtp``)."""

__version__ = "0.1.0"

#: ZMTP versions this implementation speaks: 3.1 natively, 3.0 peers, and 2.0 peers downgraded.
PROTOCOL_VERSIONS = ("3.1", "3.0", "2.0")
