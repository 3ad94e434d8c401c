"""A CSV file's bytes as its text: as its byte order mark says, else as ``--encoding`` says, else
UTF-8.

A byte order mark says what the file is — UTF-8 (Excel's "CSV UTF-8") or UTF-16 (Excel's "Unicode
text") — whatever ``--encoding`` says. Without one the file is UTF-8 (what LibreOffice, Google
Sheets and Numbers write) unless ``--encoding`` names another, such as ``cp1251`` (Excel's plain
"CSV" on a Russian Windows). Nothing is guessed: an 8-bit encoding decodes any bytes, so a wrong
guess would send garbled titles to users. A byte the encoding cannot read is named with its line;
a UTF-8 file read as an 8-bit encoding (which decodes without an error) is refused too.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from booking_notifications.cli.inputs import UsageError

BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)


def decode(path: Path, data: bytes, encoding: str | None) -> str:
    """The file's text: as its byte order mark says, else as --encoding says, else UTF-8."""
    codec, label = next(((c, label) for bom, c, label in BOMS if data.startswith(bom)), (None, ""))
    named = codec is None and encoding is not None
    if codec is None:
        codec, label = encoding or "utf-8", encoding or "UTF-8"
    try:
        text = data.decode(codec)
    except LookupError:  # unknown, or not a text encoding (base64)
        raise UsageError(f"--encoding: unknown encoding {codec!r}") from None
    except UnicodeDecodeError as err:
        line = data[: err.start].decode(codec, errors="replace").count("\n") + 1
        way_out = (
            "is --encoding right?"
            if named
            else 'save it as "CSV UTF-8", or name its encoding, e.g. --encoding cp1251'
        )
        raise UsageError(
            f"{path}, line {line}: byte 0x{data[err.start]:02x} is not {label}: {way_out}"
        ) from None
    if named and codecs.lookup(codec).name not in ("utf-8", "utf-8-sig") and is_utf8(data):
        raise UsageError(f"{path} is UTF-8, not {encoding}: leave out --encoding")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise UsageError(
            f"{path}, line {line}: NUL characters, as in UTF-16 without a byte order mark: "
            "save it as CSV, or try --encoding utf-16-le"
        )
    return text


def is_utf8(data: bytes) -> bool:
    """Whether the bytes are UTF-8 beyond ASCII: an 8-bit text almost never is by chance."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not data.isascii()
