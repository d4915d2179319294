"""ragd: a self-hosted retrieval-augmented generation server."""

__version__ = "0.1.0"
