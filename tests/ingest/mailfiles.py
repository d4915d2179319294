"""E-mails built with the standard library's own ``email`` package, for the EML loader and attachment tests."""

from __future__ import annotations

from email.message import EmailMessage


def mail(subject: str = "Quarterly report", body: str | None = "Hello Bob,\n\nThe figures are attached.\n\nAlice",
         *, html: str | None = None, sender: str = "Alice Martin <alice@example.org>") -> EmailMessage:
    """A message with the usual headers and a text/plain body (and an HTML alternative, or an HTML-only body)."""
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "Bob <bob@example.org>"
    m["Cc"] = "carol@example.org"
    m["Subject"] = subject
    m["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
    m["Message-ID"] = f"<{abs(hash(subject))}@example.org>"
    if body is not None:
        m.set_content(body)
        if html is not None:
            m.add_alternative(html, subtype="html")
    elif html is not None:
        m.set_content(html, subtype="html")
    return m


def attach(m: EmailMessage, data: bytes | EmailMessage, filename: str | None = None,
           mime: str = "application/octet-stream") -> EmailMessage:
    """``m`` with ``data`` attached (a message is attached as message/rfc822)."""
    if isinstance(data, EmailMessage):
        m.add_attachment(data)
    else:
        maintype, subtype = mime.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return m


def nested(depth: int) -> EmailMessage:
    """A mail that attaches a mail that attaches a mail … ``depth`` messages inside the outer one."""
    inner = mail(f"Level {depth}", f"Innermost message at level {depth}: the vault code is 4711.")
    for level in range(depth - 1, -1, -1):
        inner = attach(mail(f"Level {level}", f"Message at level {level} forwards level {level + 1}."), inner)
    return inner
