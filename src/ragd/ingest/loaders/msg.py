"""Outlook MSG loader: the message read with ``aspose-email-foss`` (MIT, pure Python: a Compound File Binary
reader and the MAPI properties) and turned into an RFC 822 message, which the EML loader reads — so a ``.msg``
has the same shape as a ``.eml``: headers as metadata, a heading block, the body, attachments (embedded messages
included) as child documents.

extract-msg, the better-known reader, is GPL-3.0-only: not a dependency of an Apache-2.0 server."""

from __future__ import annotations

from aspose.email_foss.cfb import CFBError, CFBReader
from aspose.email_foss.msg import MapiMessage, MsgDocument, MsgError, MsgReader

from ragd.errors import DocumentCorrupt, DocumentEmpty
from ragd.models import ParsedDocument

from .detect import MSG
from .eml import load_eml


def msg_to_eml(data: bytes) -> bytes:
    """The MSG file as the bytes of an RFC 822 message; ``DocumentCorrupt`` when it is not a readable MSG."""
    try:
        with MsgReader(CFBReader(data)) as reader:
            message = MapiMessage.from_msg_document(MsgDocument.from_reader(reader))
        return message.to_email_message().as_bytes()
    except (CFBError, MsgError, ValueError, KeyError, IndexError, EOFError, UnicodeError, OverflowError) as exc:
        raise DocumentCorrupt(f"the Outlook message could not be read ({type(exc).__name__}: {exc})") from exc


def load_msg(data: bytes, filename: str) -> ParsedDocument:
    """What :func:`ragd.ingest.loaders.eml.load_eml` gives for the message, typed ``application/vnd.ms-outlook``."""
    if not data.strip(b"\x00 \t\r\n"):
        raise DocumentEmpty("the file is empty")
    doc = load_eml(msg_to_eml(data), filename)
    doc.mime = MSG
    return doc
