"""The one error tree of ragd.

Every error ragd raises on purpose is a :class:`RagdError`. Each subclass carries an HTTP status and a stable
machine-readable ``code``; the API renders every one of them as the same problem+json body
(``{"type", "title", "status", "code", "detail"}``) and the CLI prints ``error [code]: detail`` and exits 1.

    RagdError
    ├── BadRequest (400)            bad_request
    │   └── InvalidFilter           invalid_filter
    ├── Unauthorized (401)          unauthorized — no or unusable credentials
    │   ├── InvalidCredentials      invalid_credentials
    │   │   └── RefreshTokenReused   invalid_credentials — a used refresh token again: its session is revoked
    │   └── TokenExpired            token_expired
    ├── Forbidden (403)             forbidden — authenticated, but not allowed
    ├── NotFound (404)              not_found
    │   ├── CollectionNotFound      collection_not_found
    │   ├── PageNotFound            page_not_found
    │   ├── ChunkNotFound           chunk_not_found
    │   ├── UserNotFound            user_not_found
    │   ├── ApiKeyNotFound          api_key_not_found
    │   ├── DocumentNotFound        document_not_found
    │   ├── StoreNotFound           store_not_found — no ragd database where the settings point (CLI)
    │   ├── ConversationNotFound    conversation_not_found
    │   └── QueryNotFound           query_not_found
    ├── Conflict (409)              conflict
    │   └── ModelMismatch           embedding_model_mismatch
    ├── PayloadTooLarge (413)       payload_too_large
    │   └── ArchiveTooLarge         archive_too_large — a zip-based upload (DOCX) would expand too far
    ├── RateLimited (429)           rate_limited — carries ``retry_after`` (seconds), sent as Retry-After
    │   └── QueueFull               queue_full — the tenant's ingestion jobs are at jobs.max_queued_per_tenant
    ├── UnsupportedMediaType (415)  unsupported_media_type
    │   ├── DocumentNotPdf          document_not_pdf — page images exist only for PDFs
    │   └── LegacyFormat            legacy_format — .doc/.ppt: the detail names the conversion to make
    ├── ValidationFailed (422)      validation_error
    │   ├── ArchiveUnsafe           archive_unsafe — a zip-based upload with unsafe entry names or kinds
    │   ├── InputTooLong            input_too_long — more text or items than a request may carry (limits.*)
    │   ├── ConflictingParameters   conflicting_parameters — two names of one parameter with different values
    │   ├── UrlNotAllowed           url_not_allowed — a URL to fetch that is not http(s) or not a public address
    │   └── FetchFailed             fetch_failed — a URL to fetch that does not resolve, answer or succeed
    ├── DocumentError (422)         document_error — raised while parsing; the document ends ``failed``
    │   ├── DocumentEmpty           document_empty
    │   ├── DocumentEncrypted       document_encrypted
    │   ├── DocumentCorrupt         document_corrupt
    │   │   ├── DocumentArchiveTooLarge archive_too_large (413) — a zip-based document found a bomb while parsed
    │   │   ├── DocumentTooDeep     document_too_deep — XML nested deeper than office.max_xml_depth
    │   │   └── DocumentEntities    xml_entities_refused — XML declaring entities (billion laughs)
    │   ├── NoTextFound             no_text_found
    │   ├── TooManyPages            too_many_pages
    │   ├── ParserFailed            parser_failed — a parser or the chunker raised unexpectedly on this file
    │   ├── OcrUnavailable          ocr_unavailable — OCR off, Tesseract or a language's data missing
    │   ├── OcrTimeout              ocr_timeout — OCR of a document took longer than ocr.timeout_s
    │   └── ImageTooLarge           image_too_large — an image or page over ocr.max_pixels (an OCR bomb)
    ├── ConfigurationError (500)    configuration_error — raised at start-up, never per request
    │   └── EmbeddingModelInvalid   embedding_model_invalid — the embedding model folder cannot be run or verified
    ├── ServiceUnavailable (503)    service_unavailable
    │   ├── LLMUnavailable          llm_unavailable — the model server refused or kept failing after retries
    │   └── EncryptionKeyMissing    encryption_key_missing — a stored file is encrypted under a key not configured
    ├── DecryptionFailed (500)      decryption_failed — a stored file fails authentication (tampered or moved)
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


class Unauthorized(RagdError):
    status, code, title = 401, "unauthorized", "Authentication required"


class InvalidCredentials(Unauthorized):
    code, title = "invalid_credentials", "Invalid credentials"


class RefreshTokenReused(InvalidCredentials):
    """A refresh token presented a second time (stolen or replayed): its whole session was revoked. Same answer
    as any refused refresh (``invalid_credentials``); the server audits it. ``user_id`` names the session's user."""

    def __init__(self, detail: str, *, user_id: str) -> None:
        super().__init__(detail)
        self.user_id = user_id


class TokenExpired(Unauthorized):
    code, title = "token_expired", "Token expired"


class Forbidden(RagdError):
    status, code, title = 403, "forbidden", "Forbidden"


class CollectionNotFound(NotFound):
    code, title = "collection_not_found", "Collection not found"


class UserNotFound(NotFound):
    code, title = "user_not_found", "User not found"


class ApiKeyNotFound(NotFound):
    code, title = "api_key_not_found", "API key not found"


class RateLimited(RagdError):
    """Too many requests (or too many upload bytes) for this identity; ``retry_after`` is in seconds."""

    status, code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, detail: str, *, retry_after: float, **extra: Any) -> None:
        super().__init__(detail, retry_after=max(1, int(retry_after + 0.999)), **extra)
        self.retry_after = max(1, int(retry_after + 0.999))


class QueueFull(RateLimited):
    """The tenant already has ``jobs.max_queued_per_tenant`` ingestion jobs queued or running: nothing of the
    request was stored; retry after ``retry_after`` seconds, once some of them are done."""

    code, title = "queue_full", "Ingestion queue full"


class ArchiveTooLarge(PayloadTooLarge):
    """A zip-based upload (DOCX) has too many entries, expands too far or compresses suspiciously well."""

    code, title = "archive_too_large", "Archive too large"


class ArchiveUnsafe(ValidationFailed):
    """A zip-based upload has absolute or ``..`` entry names, duplicate names or links."""

    code, title = "archive_unsafe", "Unsafe archive"


class EncryptionKeyMissing(ServiceUnavailable):
    """A stored file is encrypted under a key this process was not given (``RAGD_ENCRYPTION__KEY`` or
    ``RAGD_ENCRYPTION__PREVIOUS_KEYS``); the detail names the key id, never a key."""

    code, title = "encryption_key_missing", "Encryption key missing"


class DecryptionFailed(RagdError):
    """A stored file does not authenticate under its key: it was altered, truncated or moved between documents."""

    status, code, title = 500, "decryption_failed", "Stored file could not be decrypted"


class PageNotFound(NotFound):
    code, title = "page_not_found", "Page not found"


class ChunkNotFound(NotFound):
    code, title = "chunk_not_found", "Chunk not found"


class DocumentNotPdf(UnsupportedMediaType):
    code, title = "document_not_pdf", "Document is not a PDF"


class InputTooLong(ValidationFailed):
    """A request carries more than one request may (chat messages, characters, search terms): the detail names the
    limit and its setting (``RAGD_LIMITS__…``)."""

    code, title = "input_too_long", "Input too long"


class ConflictingParameters(ValidationFailed):
    """A request gives one parameter under two names (a compatibility alias and ragd's own, such as ``limit`` and
    ``top_k``) with different values."""

    code, title = "conflicting_parameters", "Conflicting parameters"


class ParserFailed(DocumentError):
    """A parser (or the chunker) raised an unexpected exception on one file: that document fails alone, with the
    exception in its reason; the other documents of its batch go on."""

    code, title = "parser_failed", "Document parser failed"


class StoreNotFound(NotFound):
    """No ragd database where the settings point (``ragd doctor`` on a directory that holds no store)."""

    code, title = "store_not_found", "Store not found"


class StoreUnavailable(ServiceUnavailable):
    """The database does not answer (PostgreSQL down, restarting or unreachable). Nothing was acknowledged: the
    client retries after ``retry_after`` seconds."""

    code, title = "store_unavailable", "Store unavailable"
    retry_after = 2


class EmbeddingModelInvalid(ConfigurationError):
    """The configured embedding model folder is not a model ragd can run (a missing file, an unsupported
    architecture, pooling or module, weights that do not match their config), or its vectors disagree with the
    reference the folder ships (docs/embeddings.md). Raised at start-up, never while ingesting."""

    code, title = "embedding_model_invalid", "Embedding model invalid"


class UrlNotAllowed(ValidationFailed):
    """A URL to fetch is not allowed: a scheme other than http or https, or a host that resolves to a private,
    loopback, link-local, multicast, reserved or unspecified address (or a redirect to one), unless the setting
    ``fetch.allow_private_addresses`` allows non-public addresses."""

    code, title = "url_not_allowed", "URL not allowed"


class FetchFailed(ValidationFailed):
    """The URL given could not be fetched: its host does not resolve, its server did not answer in time, refused,
    answered with an error status, or redirected too often. Nothing was stored. (A 4xx: the request names a
    resource ragd cannot get, as a file that cannot be read is the upload's problem, not the server's.)"""

    code, title = "fetch_failed", "Fetch failed"


class NestingTooDeep(DocumentError):
    """An attachment lies deeper than ``mail.max_depth`` messages inside its top-level document (a mail that
    attaches a mail that attaches a mail …): it is not indexed; its parent is, and lists it as skipped."""

    code, title = "nesting_too_deep", "Attachments nested too deeply"


class TooManyAttachments(DocumentError):
    """A message carries more attachments than ``mail.max_attachments``: the ones over the limit are skipped."""

    code, title = "too_many_attachments", "Too many attachments"


class AttachmentsTooLarge(DocumentError):
    """A message's attachments, decoded, add up to more than ``mail.max_attachments_mb``: the ones over the limit
    are skipped."""

    code, title = "attachments_too_large", "Attachments too large"


class AttachmentLoop(DocumentError):
    """An attachment holds the same bytes as one of the messages it is nested in, or as an attachment of the same
    message already taken (content hash): it is indexed once, never again."""

    code, title = "attachment_loop", "Attachment repeats its own content"


class LegacyFormat(UnsupportedMediaType):
    """A legacy binary Office file (.doc, .ppt) that no maintained library reads: the detail names the conversion
    to make (LibreOffice's ``soffice --headless --convert-to …``)."""

    code, title = "legacy_format", "Legacy format not supported"


class DocumentArchiveTooLarge(DocumentCorrupt):
    """A zip-based document (PPTX, XLSX, ODF, EPUB…) found, while it was parsed, to expand too far, compress
    suspiciously well or hold too many entries: the same code as the upload-time check (``ArchiveTooLarge``)."""

    status, code, title = 413, "archive_too_large", "Archive too large"


class DocumentTooDeep(DocumentCorrupt):
    """A document's XML (or other tree) is nested deeper than the parser allows (``office.max_xml_depth``)."""

    code, title = "document_too_deep", "Document nested too deeply"


class DocumentEntities(DocumentCorrupt):
    """A document's XML declares entities (a DTD internal subset): refused, as in a "billion laughs" attack."""

    code, title = "xml_entities_refused", "XML entities refused"


class OcrUnavailable(DocumentError):
    """OCR is needed (a scanned page, an image) but cannot run: switched off, the Tesseract program is missing, or
    a configured language has no data. The detail names the Debian packages to install (or the setting)."""

    code, title = "ocr_unavailable", "OCR unavailable"
    step = "ocr"


class OcrTimeout(DocumentError):
    """OCR of one document took longer than ``ocr.timeout_s``; the document fails alone."""

    code, title = "ocr_timeout", "OCR took too long"
    step = "ocr"


class ImageTooLarge(DocumentError):
    """An image (or a PDF page to OCR) has more pixels than ``ocr.max_pixels``: refused from its header, before any
    pixel is decoded (an OCR bomb)."""

    code, title = "image_too_large", "Image too large"
    step = "ocr"
