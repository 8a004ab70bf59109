#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# mkbadtime.py: writes pcapng captures whose clocks make no sense (issue 12, item 7), for badtime.sh and
# the fuzz seed corpora: interfaces with a huge if_tsoffset or a coarse if_tsresol, and timestamps
# near 2^63 and 2^64 units. Each holds one vsock connection (REQUEST, RESPONSE, RW both ways, SHUTDOWN,
# RST), so the printers, the flow analysis and the replay all have something to work on.
# Usage: mkbadtime.py DIR
# Block layouts: draft-ietf-opsawg-pcapng sections 4.1 (SHB), 4.2 (IDB, if_tsresol code 9, if_tsoffset
# code 14) and 4.3 (EPB); frames: LINKTYPE_VSOCK (a 32-byte af_vsockmon header, then virtio's 44 bytes).
import os
import struct
import sys

LINKTYPE_VSOCK = 271
MON_CONNECT, MON_DISCONNECT, MON_CONTROL, MON_PAYLOAD = 1, 2, 3, 4
TRANSPORT_VIRTIO = 2
OP_REQUEST, OP_RESPONSE, OP_RST, OP_SHUTDOWN, OP_RW = 1, 2, 3, 4, 5
TYPE_STREAM = 1
MON_OP_FOR = {OP_REQUEST: MON_CONNECT, OP_RESPONSE: MON_CONNECT, OP_RST: MON_DISCONNECT,
              OP_SHUTDOWN: MON_DISCONNECT, OP_RW: MON_PAYLOAD}


def block(btype, body):
    body += b'\0' * (-len(body) % 4)
    total = 12 + len(body)
    return struct.pack('<II', btype, total) + body + struct.pack('<I', total)


def shb():
    return block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1) + struct.pack('<HH', 0, 0))


def option(code, value):
    return struct.pack('<HH', code, len(value)) + value + b'\0' * (-len(value) % 4)


def idb(tsresol=None, tsoffset=None):
    opts = b''
    if tsresol is not None:
        opts += option(9, struct.pack('<B', tsresol))
    if tsoffset is not None:
        opts += option(14, struct.pack('<q', tsoffset))
    if opts:
        opts += struct.pack('<HH', 0, 0)
    return block(1, struct.pack('<HHI', LINKTYPE_VSOCK, 0, 262144) + opts)


def frame(src, dst, op, payload=b'', flags=0):
    (scid, sport), (dcid, dport) = src, dst
    mon = struct.pack('<QQIIHHHH', scid, dcid, sport, dport, MON_OP_FOR[op], TRANSPORT_VIRTIO, 44, 0)
    virtio = struct.pack('<QQIIIHHIII', scid, dcid, sport, dport, len(payload), TYPE_STREAM, op, flags,
                         65536, 0)
    return mon + virtio + payload


def epb(if_id, units, data):
    units &= (1 << 64) - 1
    return block(6, struct.pack('<IIIII', if_id, units >> 32, units & 0xffffffff, len(data), len(data)) + data)


HOST, GUEST = (2, 1234), (3, 40000)


def connection():
    """One connection's frames, in order."""
    return [frame(GUEST, HOST, OP_REQUEST), frame(HOST, GUEST, OP_RESPONSE),
            frame(GUEST, HOST, OP_RW, b'ping'), frame(HOST, GUEST, OP_RW, b'pong'),
            frame(GUEST, HOST, OP_SHUTDOWN, flags=3), frame(HOST, GUEST, OP_RST)]


def capture(ifaces, stamps):
    """A section with the interfaces, then the connection's frames at (interface, units) each."""
    out = shb() + b''.join(idb(*i) for i in ifaces)
    for (if_id, units), data in zip(stamps, connection()):
        out += epb(if_id, units, data)
    return out


T2026 = 1780000000 * 10**6      # 2026-05-28, in the default microseconds
FILES = {
    # if_tsoffset near 2^63 s: every time is out of range (vsockdump printed a 20-digit year).
    'tsoffset-max.pcapng': capture([(None, 2**63 - 1000)], [(0, T2026 + i) for i in range(6)]),
    # if_tsoffset near -2^63 s: before 1970 (-498684:39:14 in -ttttt).
    'tsoffset-min.pcapng': capture([(None, -2**63 + 1000)], [(0, T2026 + i) for i in range(6)]),
    # Two interfaces, one sane and one 2^40 s ahead: a connection 16,651,479,324 s long in --flows.
    'tsoffset-mixed.pcapng': capture([(None, None), (None, 2**40)],
                                     [(0, T2026), (1, T2026 + 1), (0, T2026 + 2), (1, T2026 + 3),
                                      (0, T2026 + 4), (1, T2026 + 5)]),
    # if_tsresol 10^0 (whole seconds) with counts near 2^63 and 2^64 seconds.
    'tsresol-seconds.pcapng': capture([(0, None)],
                                      [(0, 1780000000), (0, 2**63 - 1), (0, 2**63), (0, 2**64 - 1),
                                       (0, 1780000001), (0, 2**62)]),
    # if_tsresol 2^0 with counts near 2^64, plus the largest positive offset.
    'tsresol-binary.pcapng': capture([(0x80, 2**63 - 1)], [(0, 2**64 - 1 - i) for i in range(6)]),
    # Default nanoseconds, units near 2^63 (2262): out of range without any option.
    'ns-near-2p63.pcapng': capture([(9, None)], [(0, 2**63 - 6 + i) for i in range(6)]),
    # A sane capture in the same shape: nothing clamped, nothing flagged.
    'sane.pcapng': capture([(9, None)], [(0, 1780000000 * 10**9 + i * 1000) for i in range(6)]),
}


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: mkbadtime.py DIR')
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, data in FILES.items():
        with open(os.path.join(sys.argv[1], name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
