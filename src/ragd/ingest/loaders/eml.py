"""E-mail loader (RFC 822 / MIME, ``.eml``): the headers as metadata and a short heading block, the body (its
text/plain part, else its text/html part through the HTML loader), and the attachments, which the pipeline indexes
as child documents (:mod:`ragd.ingest.attachments`)."""

from __future__ import annotations

import base64
import quopri
import re
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any

from ragd.errors import DocumentCorrupt, DocumentEmpty, DocumentError, NestingTooDeep, TooManyAttachments
from ragd.models import Attachment, ParsedDocument

from ._build import DocBuilder, clean_controls, collapse
from ._decode import decode_text
from .detect import EML
from .html import load_html

HEADERS: tuple[tuple[str, str], ...] = (
    ("from", "From"), ("to", "To"), ("cc", "Cc"), ("date", "Date"), ("subject", "Subject"),
    ("message_id", "Message-ID"),
)
"""Metadata key → mail header: the headers kept as the document's metadata."""

MAX_PARTS = 2000
"""Most MIME parts a message may have (counted from its boundary lines before it is parsed: parsing costs about a
millisecond per part, so a small file of tiny parts would keep a worker busy for minutes)."""
_BOUNDARY_LINE = re.compile(rb"^--[!-~]{1,74}\r?$", re.M)
_LISTED = 50  # attachment names written into the message's text at most
_SHOWN = ("From", "To", "Cc", "Date")
_BLANK_LINES = re.compile(r"\n[ \t\f\v]*\n")
_MAX_HEADER = 2000  # characters kept of one header's value


def _raw_header(msg: Message, name: str) -> str:
    """A header's raw value; 8-bit bytes (not allowed in headers, common in old mail) decoded as their charset
    is guessed (the parser keeps them as surrogates)."""
    raw = next((str(v) for k, v in msg.raw_items() if k.lower() == name.lower()), "")
    if any("\udc80" <= ch <= "\udcff" for ch in raw):
        return _undeclared(raw.encode("utf-8", "surrogateescape"))
    return raw


def _undeclared(data: bytes) -> str:
    """8-bit text whose charset is not declared (or declared as US-ASCII): UTF-8 when it is valid UTF-8, else
    windows-1252, as browsers read such labels (charset guessing takes short French text for Baltic code pages)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _header(msg: Message, name: str) -> str:
    """A header's decoded value, one line; the raw value when the parser cannot decode it."""
    try:
        value = msg.get(name)
        text = "" if value is None else str(value)
        if "\ufffd" in text:  # undeclared 8-bit bytes: guess their charset rather than lose them
            text = _raw_header(msg, name)
    except Exception:  # a malformed header the policy refuses to decode: keep its raw text
        text = _raw_header(msg, name)
    return collapse(clean_controls(text))[:_MAX_HEADER]


def mail_headers(msg: Message) -> dict[str, str]:
    """The headers of :data:`HEADERS` that ``msg`` has, by metadata key."""
    out: dict[str, str] = {}
    for key, name in HEADERS:
        value = _header(msg, name)
        if value:
            out[key] = value
    return out


def parse_message(data: bytes) -> EmailMessage:
    """``data`` parsed with the modern e-mail policy; ``DocumentCorrupt`` when it holds no header at all."""
    msg = BytesParser(policy=policy.default).parsebytes(data)
    if not isinstance(msg, EmailMessage) or not msg.keys():
        raise DocumentCorrupt("the e-mail has no headers (From, To, Subject, Date…): not an RFC 822 message")
    return msg


def _part_text(part: Message) -> str:
    """A text part's content, decoded with its charset (or a guessed one when that is unknown or wrong)."""
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str) and "\ufffd" not in content:
            return content
    except (LookupError, UnicodeError, ValueError, AssertionError):
        pass  # an unknown charset, or bytes that are not in it: guessed below
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return ""
    declared = (part.get_param("charset") or "us-ascii") if hasattr(part, "get_param") else "us-ascii"
    if str(declared).strip().lower() in ("us-ascii", "ascii"):
        return _undeclared(raw).replace("\r\n", "\n")
    return decode_text(raw)  # a charset Python does not know, or bytes not in it: guessed


def _leaves(part: Message) -> Iterator[Message]:
    """The parts of a message that are not containers, in order; an attached message counts as one part."""
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        yield part
        return
    payload = part.get_payload()
    for sub in payload if isinstance(payload, list) else []:
        if isinstance(sub, Message):
            yield from _leaves(sub)


def _attachment(part: Message, index: int) -> Attachment | None:
    """The part as an attachment, or ``None`` when it is an alternative or inline rendering of the body."""
    ctype = part.get_content_type()
    try:
        name = part.get_filename()
    except Exception:
        name = None
    disposition = (part.get_content_disposition() or "").lower()
    if ctype == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            return None
        data = inner.as_bytes(policy=policy.default)
        cte = str(part.get("Content-Transfer-Encoding") or "").strip().lower()
        if cte in ("base64", "quoted-printable"):  # not allowed by RFC 2046, but written (Outlook converters)
            data = base64.b64decode(data) if cte == "base64" else quopri.decodestring(data)
            inner = BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
        subject = _header(inner, "Subject")
        name = name or f"{(subject or 'message')[:80]}.eml"
        return Attachment(filename=name, data=data, declared_mime=ctype)
    if not name and disposition != "attachment":
        return None
    raw = part.get_payload(decode=True)
    data = raw if isinstance(raw, bytes) else b""
    return Attachment(filename=name or f"attachment-{index}", data=data, declared_mime=ctype)


def _add_plain(builder: DocBuilder, text: str) -> None:
    for para in _BLANK_LINES.split(clean_controls(text.replace("\r\n", "\n").replace("\f", "\n\n"))):
        builder.add("paragraph", "\n".join(line.rstrip() for line in para.split("\n")))


def _add_html(builder: DocBuilder, html: str, filename: str) -> None:
    try:
        doc = load_html(html.encode("utf-8"), filename)
    except DocumentError:  # an HTML body with no visible text: the mail still has its headers
        return
    for block in doc.blocks:
        if block.kind == "heading":
            builder.heading(block.text, block.level + 1)
        else:
            builder.add(block.kind, block.text, header_lines=block.header_lines)


def load_eml(data: bytes, filename: str) -> ParsedDocument:
    """A heading (the subject), a block of the From/To/Cc/Date headers, the body, then the attachments' names.

    The metadata holds the headers of :data:`HEADERS`, keys prefixed ``mail_`` (``mail_from``, ``mail_subject``…);
    :attr:`ParsedDocument.attachments` the attached files and messages (decoded), which the pipeline indexes as
    child documents."""
    if not data.strip():
        raise DocumentEmpty("the file is empty" if not data else "the file contains only whitespace")
    parts = sum(1 for _ in _BOUNDARY_LINE.finditer(data))
    if parts > MAX_PARTS:
        raise TooManyAttachments(f"the message has about {parts} MIME parts; the limit is {MAX_PARTS}")
    try:
        return _load(data, filename)
    except RecursionError as exc:
        raise NestingTooDeep("the message's MIME parts are nested too deeply to read") from exc


def _load(data: bytes, filename: str) -> ParsedDocument:
    msg = parse_message(data)
    meta: dict[str, Any] = mail_headers(msg)
    builder = DocBuilder(EML)
    subject = meta.get("subject") or "(no subject)"
    builder.heading(subject, 1)
    builder.add("paragraph", "\n".join(f"{n}: {_header(msg, n)}" for n in _SHOWN if _header(msg, n)))
    body = msg.get_body(preferencelist=("plain",)) or msg.get_body(preferencelist=("html",))
    if body is not None:
        text = _part_text(body)
        if body.get_content_type() == "text/html":
            _add_html(builder, text, filename)
        else:
            _add_plain(builder, text)
    attachments: list[Attachment] = []
    for part in _leaves(msg):
        if part is body:
            continue
        found = _attachment(part, len(attachments) + 1)
        if found is not None:
            attachments.append(found)
    if attachments:
        names = [collapse(a.filename) for a in attachments[:_LISTED]]
        more = f" and {len(attachments) - _LISTED} more" if len(attachments) > _LISTED else ""
        builder.add("paragraph", "Attachments: " + ", ".join(names) + more)
    metadata = {f"mail_{k}": v for k, v in meta.items()}
    doc = builder.build(title=subject if meta.get("subject") else None, metadata=metadata)
    doc.attachments = attachments
    return doc
