"""How the text files people save are decoded: UTF-8, with or without a byte-order mark, and
UTF-16 with one (what Windows Notepad saves as "Unicode" and Praat as UTF-16 TextGrids). One
place, so that transcripts, dictionaries and TextGrids accept the same files."""

from __future__ import annotations

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")  # the first begins as UTF-16's does


def decode_text(raw: bytes) -> str:
    """The text of a file's bytes: UTF-32 or UTF-16 when they start with its byte-order mark,
    UTF-16 without one when every other byte is NUL (`_bomless_utf16`), else UTF-8 (a BOM
    dropped). Raises UnicodeDecodeError for anything else (latin-1, a UTF-16 file cut at an odd
    byte, a NUL byte in UTF-8 text): callers name the file and the byte."""
    if raw[:4] in UTF32_BOMS:
        return raw.decode("utf-32")
    if raw[:2] in UTF16_BOMS:
        return raw.decode("utf-16")
    if b"\x00" in raw:
        codec = _bomless_utf16(raw)
        if codec is not None:
            return raw.decode(codec)
        at = raw.index(b"\x00")  # valid UTF-8, but no text holds it: a binary or mangled file
        raise UnicodeDecodeError("utf-8", raw, at, at + 1, "NUL byte in text")
    return raw.decode("utf-8-sig")


def _bomless_utf16(raw: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" for bytes that are UTF-16 without a byte-order mark (some
    tools save it so; read as UTF-8 its NUL bytes passed, and "The" was aligned as the letters
    T, h, e): of an even length, with most of the high bytes NUL (text in Latin script) and
    none of the low ones; None otherwise."""
    if len(raw) % 2:
        return None
    even, odd = raw[0::2], raw[1::2]
    for codec, high, low in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if high.count(0) >= 0.5 * len(high) and low.count(0) == 0:
            return codec
    return None
