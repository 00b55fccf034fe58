"""Encoded-image headers written by hand: what a decompression bomb sends, in a few bytes."""

import struct


def png_header(height: int, width: int) -> bytes:
    """The first bytes of a PNG: signature and IHDR (8-bit grey), no pixels."""
    ihdr = struct.pack(">II5B", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + b"\0" * 4


def jpeg_header(height: int, width: int) -> bytes:
    """SOI, an APP0 segment, then a baseline SOF0 frame header (one component)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0" + b"\x01\x01\0\0\x01\0\x01\0\0"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\0"
    return b"\xff\xd8" + app0 + sof0
