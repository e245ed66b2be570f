"""A writer of Vital Recorder's ``.vital`` files, as ``VitalRecorder/Vital_File_Format.md``
(snuhvitallab/vitaldb-docs) describes format version 3.

One gzip stream (``1F 8B 08 00``); inside, little-endian and packed to single bytes: the
header (``"VITA"``, format_ver, headerlen = 26, tzbias, inst_id, prog_ver, dtstart, dtend),
then packets of ``type BYTE, datalen DWORD, data``: DEVINFO (9), TRKINFO (0), REC (1) and
one CMD_TRK_ORDER (6, cmd 5). Records are written track after track, so each TRKINFO carries
its true ``reclen`` (the document: "Length of all record packets in byte for the track").
Wave samples are FMT_FLOAT, so no adc gain/offset applies; a missing wave sample is NaN.
"""

from __future__ import annotations

import gzip
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

TYPE_WAV, TYPE_NUM = 1, 2
FMT_FLOAT = 1
SAVE_TRKINFO, SAVE_REC, SAVE_CMD, SAVE_DEVINFO = 0, 1, 6, 9
CMD_TRK_ORDER = 5
FORMAT_VERSION = 3
PROG_VERSION = 10805  # "vital recorder version": the docs give no encoding; any DWORD
TZBIAS_KST = -540  # the document's own example: "-540 for Korea" (UTC = local + bias)


@dataclass
class Track:
    """One track of a file: a numeric track's ``(dt, value)`` records, or a wave's blocks of
    samples (``(dt, [samples...])``, one record per block)."""

    device: str
    name: str
    kind: int  # TYPE_WAV or TYPE_NUM
    unit: str = ""
    srate: float = 0.0  # waves only
    mindisp: float = 0.0
    maxdisp: float = 100.0
    color: int = 0xFFFFFFFF
    montype: int = 0
    records: list[tuple[float, object]] = field(default_factory=list)


def _str(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack("<L", len(data)) + data  # 4-byte length, no trailing NUL


def _packet(kind: int, data: bytes) -> bytes:
    return struct.pack("<BL", kind, len(data)) + data


def _rec(dt: float, trkid: int, values: bytes) -> bytes:
    return _packet(SAVE_REC, struct.pack("<HdH", 10, dt, trkid) + values)


def write(
    tracks: Sequence[Track],
    dtstart: float,
    dtend: float,
    *,
    tzbias: int = TZBIAS_KST,
    inst_id: int = 0x5B3C_0001,
) -> bytes:
    """The bytes of a ``.vital`` file holding ``tracks``; deterministic (gzip mtime 0)."""
    out = [b"VITA", struct.pack("<LH", FORMAT_VERSION, 26)]
    out.append(struct.pack("<hLLdd", tzbias, inst_id, PROG_VERSION, dtstart, dtend))
    devices: dict[str, int] = {}
    for track in tracks:
        if track.device not in devices:
            devid = len(devices) + 1
            devices[track.device] = devid
            body = struct.pack("<L", devid) + _str(track.device) + _str(track.device) + _str("")
            out.append(_packet(SAVE_DEVINFO, body))
    recs: list[bytes] = []
    for trkid, track in enumerate(tracks, start=1):
        packets = []
        for dt, value in track.records:
            if track.kind == TYPE_WAV:
                block: list[float | None] = value  # type: ignore[assignment]  # a wave's block
                samples = [math.nan if v is None else float(v) for v in block]
                data = struct.pack(f"<L{len(samples)}f", len(samples), *samples)
            else:
                data = struct.pack("<f", float(value))  # type: ignore[arg-type]
            packets.append(_rec(dt, trkid, data))
        reclen = sum(len(p) for p in packets)
        info = (
            struct.pack("<HBB", trkid, track.kind, FMT_FLOAT)
            + _str(track.name)
            + _str(track.unit)
            + struct.pack("<ffLfdd", track.mindisp, track.maxdisp, track.color, track.srate, 1, 0)
            + struct.pack("<BLL", track.montype, devices[track.device], reclen)
        )
        out.append(_packet(SAVE_TRKINFO, info))
        recs.extend(packets)
    out.extend(recs)
    ids = range(1, len(tracks) + 1)
    order = struct.pack(f"<BH{len(tracks)}H", CMD_TRK_ORDER, len(tracks), *ids)
    out.append(_packet(SAVE_CMD, order))
    return gzip.compress(b"".join(out), compresslevel=6, mtime=0)
