"""Personal data: detection and redaction (:mod:`ragd.privacy.pii`), streaming redaction
(:mod:`ragd.privacy.stream`), and the hooks applying it to documents and answers (:mod:`ragd.privacy.apply`,
imported on its own: this package stays importable from the logging set-up without the services)."""

from ragd.privacy.pii import KINDS, PLACEHOLDERS, PiiKind, PiiMatch, find_pii, redact

__all__ = ["KINDS", "PLACEHOLDERS", "PiiKind", "PiiMatch", "find_pii", "redact"]
