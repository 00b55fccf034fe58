"""The size an encoded image declares, read from its header without decoding it.

A few hundred bytes of PNG or JPEG can declare a 100000x100000 image (a decompression bomb):
decoding it would take tens of gigabytes. The data check reads the PNG ``IHDR`` chunk or the
JPEG start-of-frame segment first and refuses such a record before anything decodes it.
Pure Python.
"""

import struct
from typing import Optional, Tuple

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (SOF0-SOF15) carry the size; C4, C8 and CC are not frames.
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}  # RSTn, TEM: no length field
_JPEG_END = frozenset({0xD9, 0xDA})  # end of image, start of scan: no frame came first


def declared_size(data: bytes) -> Optional[Tuple[int, int]]:
    """(height, width) the PNG or JPEG header declares, or None when ``data`` does not
    start with a readable PNG or JPEG header."""
    if data.startswith(_PNG_SIGNATURE):
        return _png_size(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _png_size(data: bytes) -> Optional[Tuple[int, int]]:
    # Signature, then the IHDR chunk: length (4), type (4), width (4), height (4).
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return height, width


def _jpeg_size(data: bytes) -> Optional[Tuple[int, int]]:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        if marker in _JPEG_END:
            return None
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _JPEG_FRAMES:
            # Length (2), precision (1), height (2), width (2).
            if position + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return (height, width) if height and width else None
        position += 2 + length
    return None
