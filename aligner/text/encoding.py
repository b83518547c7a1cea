"""How the text files people save are decoded: UTF-8, with or without a byte-order mark, and
UTF-16 with one (what Windows Notepad saves as "Unicode" and Praat as UTF-16 TextGrids). One
place, so that transcripts, dictionaries and TextGrids accept the same files."""

from __future__ import annotations

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")  # the first begins as UTF-16's does


def decode_text(raw: bytes) -> str:
    """The text of a file's bytes: UTF-32 or UTF-16 when they start with its byte-order mark,
    else UTF-8 (a BOM dropped). Raises UnicodeDecodeError for anything else (latin-1, UTF-16
    without a BOM, a UTF-16 file cut at an odd byte): callers name the file and the byte."""
    if raw[:4] in UTF32_BOMS:
        return raw.decode("utf-32")
    if raw[:2] in UTF16_BOMS:
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")
