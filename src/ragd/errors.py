"""The one error tree of ragd.

Every error ragd raises on purpose is a :class:`RagdError`. Each subclass carries an HTTP status and a stable
machine-readable ``code``; the API renders every one of them as the same problem+json body
(``{"type", "title", "status", "code", "detail"}``) and the CLI prints ``error [code]: detail`` and exits 1.

    RagdError
    ├── BadRequest (400)            bad_request
    │   └── InvalidFilter           invalid_filter
    ├── NotFound (404)              not_found
    │   ├── DocumentNotFound        document_not_found
    │   ├── ConversationNotFound    conversation_not_found
    │   └── QueryNotFound           query_not_found
    ├── Conflict (409)              conflict
    │   └── ModelMismatch           embedding_model_mismatch
    ├── PayloadTooLarge (413)       payload_too_large
    ├── UnsupportedMediaType (415)  unsupported_media_type
    ├── ValidationFailed (422)      validation_error
    ├── DocumentError (422)         document_error — raised while parsing; the document ends ``failed``
    │   ├── DocumentEmpty           document_empty
    │   ├── DocumentEncrypted       document_encrypted
    │   ├── DocumentCorrupt         document_corrupt
    │   ├── NoTextFound             no_text_found
    │   └── TooManyPages            too_many_pages
    ├── ConfigurationError (500)    configuration_error — raised at start-up, never per request
    ├── ServiceUnavailable (503)    service_unavailable
    │   └── LLMUnavailable          llm_unavailable — the model server refused or kept failing after retries
    ├── LLMBadResponse (502)        llm_bad_response — the model server answered something unreadable
    └── LLMTimeout (504)            llm_timeout — the model server did not answer in time
"""

from __future__ import annotations

from typing import Any, ClassVar


class RagdError(Exception):
    """Base of every deliberate ragd error: an HTTP status, a stable code and a human message."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def to_problem(self) -> dict[str, Any]:
        """The RFC 9457 problem body the API returns."""
        body: dict[str, Any] = {
            "type": f"https://ragd.dev/errors/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        body.update(self.extra)
        return body


class BadRequest(RagdError):
    status, code, title = 400, "bad_request", "Bad request"


class InvalidFilter(BadRequest):
    code, title = "invalid_filter", "Invalid filter"


class NotFound(RagdError):
    status, code, title = 404, "not_found", "Not found"


class DocumentNotFound(NotFound):
    code, title = "document_not_found", "Document not found"


class Conflict(RagdError):
    status, code, title = 409, "conflict", "Conflict"


class ModelMismatch(Conflict):
    code, title = "embedding_model_mismatch", "Embedding model mismatch"


class PayloadTooLarge(RagdError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(RagdError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class ValidationFailed(RagdError):
    status, code, title = 422, "validation_error", "Validation error"


class DocumentError(RagdError):
    """A document could not be turned into text. The pipeline records ``code`` and ``detail`` on it."""

    status, code, title = 422, "document_error", "Document could not be processed"


class DocumentEmpty(DocumentError):
    code, title = "document_empty", "Document is empty"


class DocumentEncrypted(DocumentError):
    code, title = "document_encrypted", "Document is password-protected"


class DocumentCorrupt(DocumentError):
    code, title = "document_corrupt", "Document is corrupt"


class NoTextFound(DocumentError):
    code, title = "no_text_found", "No text found in document"


class TooManyPages(DocumentError):
    code, title = "too_many_pages", "Document has too many pages"


class ConfigurationError(RagdError):
    status, code, title = 500, "configuration_error", "Configuration error"


class ServiceUnavailable(RagdError):
    status, code, title = 503, "service_unavailable", "Service unavailable"


class ConversationNotFound(NotFound):
    code, title = "conversation_not_found", "Conversation not found"


class QueryNotFound(NotFound):
    code, title = "query_not_found", "Query or message not found"


class LLMUnavailable(ServiceUnavailable):
    code, title = "llm_unavailable", "Language model unavailable"


class LLMBadResponse(RagdError):
    status, code, title = 502, "llm_bad_response", "Bad response from the language model"


class LLMTimeout(RagdError):
    status, code, title = 504, "llm_timeout", "Language model timed out"
