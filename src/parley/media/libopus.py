"""The few calls of the system's libopus (Debian's libopus0) that loss concealment needs.

FFmpeg's libopus wrapper, which aiortc decodes through, decodes whole packets only: it cannot play a
missing packet (libopus's packet loss concealment, a call with no data) nor rebuild one from the
low-rate copy the next packet carries (in-band FEC, `decode_fec`). libopus itself can; this binds it
through ctypes rather than a wheel, since the library is already on every machine that runs Janus or
Chromium. Decoding is 16-bit interleaved PCM at 48 kHz, the clock Opus's RTP timestamps run at.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

__all__ = ["MAX_FRAME_SAMPLES", "SAMPLE_RATE", "OpusError", "PacketDecoder", "packet_samples"]

SAMPLE_RATE = 48_000
MAX_FRAME_SAMPLES = SAMPLE_RATE * 120 // 1000  # the longest Opus packet, 120 ms, per channel
_OPUS_OK = 0


class OpusError(ValueError):
    """libopus refused a packet or a call (the message is its own `opus_strerror`)."""


@cache
def _lib() -> ctypes.CDLL:
    name = ctypes.util.find_library("opus")
    if name is None:
        raise OSError("libopus not found: install Debian's libopus0 (scripts/setup does)")
    lib = ctypes.CDLL(name)
    lib.opus_decoder_create.restype = ctypes.c_void_p
    lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    lib.opus_decoder_destroy.restype = None
    lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
    lib.opus_decode.restype = ctypes.c_int
    lib.opus_decode.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int32,
        ctypes.POINTER(ctypes.c_int16),
        ctypes.c_int,
        ctypes.c_int,
    ]
    lib.opus_packet_get_nb_samples.restype = ctypes.c_int
    lib.opus_packet_get_nb_samples.argtypes = [ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]
    lib.opus_strerror.restype = ctypes.c_char_p
    lib.opus_strerror.argtypes = [ctypes.c_int]
    return lib


def _check(code: int) -> int:
    if code < _OPUS_OK:
        raise OpusError(_lib().opus_strerror(code).decode())
    return code


def packet_samples(packet: bytes) -> int:
    """How many samples per channel (at 48 kHz) an Opus packet holds, read from its table of contents."""
    return _check(_lib().opus_packet_get_nb_samples(packet, len(packet), SAMPLE_RATE))


class PacketDecoder:
    """One libopus decoder: its state (what concealment extrapolates from) follows one stream.

    Not thread-safe; a receiver decodes in its own thread."""

    def __init__(self, channels: int = 2) -> None:
        error = ctypes.c_int()
        state = _lib().opus_decoder_create(SAMPLE_RATE, channels, ctypes.byref(error))
        _check(error.value)
        if not state:
            raise MemoryError("opus_decoder_create returned no decoder")
        self._state: int | None = state
        self.channels = channels
        self._pcm = (ctypes.c_int16 * (MAX_FRAME_SAMPLES * channels))()

    def decode(self, packet: bytes) -> bytes:
        """The packet's PCM."""
        return self._decode(packet, MAX_FRAME_SAMPLES, fec=False)

    def conceal(self, samples: int) -> bytes:
        """`samples` per channel (a multiple of 2.5 ms, at most 120 ms) of a packet that never came,
        extrapolated from what was decoded before (libopus's packet loss concealment)."""
        return self._decode(None, samples, fec=False)

    def recover(self, following: bytes, samples: int) -> bytes:
        """The last `samples` per channel before `following`, rebuilt from the in-band FEC it carries;
        where it carries none, libopus conceals them instead."""
        return self._decode(following, samples, fec=True)

    def _decode(self, packet: bytes | None, samples: int, *, fec: bool) -> bytes:
        if self._state is None:
            raise RuntimeError("This decoder is closed")
        decoded = _check(
            _lib().opus_decode(
                self._state, packet, len(packet) if packet else 0, self._pcm, samples, int(fec)
            )
        )
        return ctypes.string_at(self._pcm, decoded * self.channels * ctypes.sizeof(ctypes.c_int16))

    def close(self) -> None:
        if self._state is not None:
            _lib().opus_decoder_destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()
