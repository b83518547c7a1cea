"""How the text files people save are decoded: UTF-8, with or without a byte-order mark, and
UTF-16 with one (what Windows Notepad saves as "Unicode" and Praat as UTF-16 TextGrids). One
place, so that transcripts, dictionaries and TextGrids accept the same files."""

from __future__ import annotations

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")  # the first begins as UTF-16's does


def decode_text(raw: bytes) -> str:
    """The text of a file's bytes: UTF-32 or UTF-16 when they start with its byte-order mark,
    UTF-16 without one when its NUL bytes say so (`_bomless_utf16`), else UTF-8 (a BOM and
    trailing NUL padding dropped). Raises UnicodeDecodeError for anything else (latin-1, a
    UTF-16 file cut at an odd byte, a NUL byte inside UTF-8 text): callers name the file and
    the byte."""
    if raw[:4] in UTF32_BOMS:
        return raw.decode("utf-32")
    if raw[:2] in UTF16_BOMS:
        return raw.decode("utf-16")
    if b"\x00" not in raw:
        return raw.decode("utf-8-sig")
    text = _bomless_utf16(raw)
    if text is not None:
        return text
    padded = raw.rstrip(b"\x00")  # a fixed-size record padded with NULs: its text is whole
    if b"\x00" not in padded:
        return padded.decode("utf-8-sig")
    at = padded.index(b"\x00")  # valid UTF-8, but no text holds it: a binary or mangled file
    raise UnicodeDecodeError("utf-8", raw, at, at + 1, "NUL byte in text")


def _bomless_utf16(raw: bytes) -> str | None:
    """The text of bytes that are UTF-16 without a byte-order mark (some tools save it so; read
    as UTF-8 its NUL bytes passed, and "The" was aligned as the letters T, h, e), or None: an
    even length, most of one side's bytes NUL (the high bytes of text in a Latin script: the
    more NUL side says little- or big-endian), and no 16-bit unit NUL but trailing padding.
    Characters whose low byte is 0 (U+0100, U+4E00) are fine."""
    if len(raw) % 2:
        return None
    even, odd = raw[0::2].count(0), raw[1::2].count(0)
    if max(even, odd) < 0.3 * (len(raw) // 2):
        return None
    try:
        text = raw.decode("utf-16-le" if odd > even else "utf-16-be").rstrip("\x00")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text
