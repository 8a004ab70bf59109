#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# mkcorpus.py: writes the seed corpus of fuzz-engine.c (tests/fuzz/corpus-engine/), one scenario per file.
# Usage: mkcorpus.py [DIR]   (default: corpus-engine next to this script)
# The command format is described at the top of fuzz-engine.c; these helpers follow it byte for byte.
# The crash-* files in the corpus are not made here: they are inputs that once broke the engine
# (found by the fuzzer, fixed since), kept as regression seeds.
import os
import struct
import sys

OP_INVALID, OP_REQUEST, OP_RESPONSE, OP_RST, OP_SHUTDOWN, OP_RW, OP_CU, OP_CR = range(8)
# Sockets right after setup: 0 listener 1234 STREAM, 1 listener 1236 SEQPACKET, 2 connecting 40000 -> 3:5000;
# the next REQUEST's child becomes socket 3, and so on.
L_STREAM, L_SEQ, CLIENT, CHILD = 0, 1, 2, 3
# src_port index: 5000, 6000, 6001, 6002; dst_port index: 1234, 1236, 40000, 40001
P5000, P6000, P6001, P6002 = range(4)
D1234, D1236, D40000, D40001 = range(4)
STREAM, SEQ = 0, 1


def u8(v):
    return struct.pack('<B', v & 0xff)


def u16(v):
    return struct.pack('<H', v & 0xffff)


def u32(v):
    return struct.pack('<I', v & 0xffffffff)


def peer(op, src=P6000, dst=D1234, type_idx=STREAM, type_raw=None, flags=None, buf=0, buf_raw=None,
         fwd=None, length=0, payload=None, ctl_len=None, hdr_len=None, src_cid=None, dst_cid_off=None,
         src_port=None, dst_port=None):
    """A PEER command: a packet from the fuzzer's side of the wire. An RW carries `length` pattern
    bytes, or `payload` taken from the input."""
    if type_raw is not None:
        type_idx = 3
    if buf_raw is not None:
        buf = 3
    sel = ((src_cid is not None) | (dst_cid_off is not None) << 1 | src << 2 | dst << 4 | type_idx << 6)
    sel2 = ((src_port is not None) | (dst_port is not None) << 1 | (flags is not None) << 2 | buf << 3 |
            (fwd is not None) << 5 | (ctl_len is not None or payload is not None) << 6 |
            (hdr_len is not None) << 7)
    b = u8(0) + u8(sel) + u8(sel2) + u8(op)
    if src_cid is not None:
        b += u8(src_cid)
    if dst_cid_off is not None:
        b += u8(dst_cid_off)
    if src_port is not None:
        b += u32(src_port)
    if dst_port is not None:
        b += u32(dst_port)
    if type_idx == 3:
        b += u8(type_raw)
    if flags is not None:
        b += u8(flags)
    if buf == 3:
        b += u32(buf_raw)
    if fwd is not None:
        b += u32(fwd)
    if op == OP_RW:
        b += u16(len(payload)) + payload if payload is not None else u16(length)
    elif ctl_len is not None:
        b += u8(ctl_len) + bytes(ctl_len)
    if hdr_len is not None:
        b += u32(hdr_len)
    return b


def raw(b):
    return u8(8) + u16(len(b)) + b


def user(f, sk, *args):
    return u8(10) + u8(f) + u8(sk) + b''.join(args)


def send(sk, n, eor=False):
    return user(0, sk, u16(n), u8(1 if eor else 0))


def recv(sk, n, peek=False):
    return user(1, sk, u16(n), u8(4 if peek else 0))


def shutdown(sk, how):
    return user(3, sk, u8(how))


def close(sk):
    return user(4, sk)


def reset(sk):
    return user(5, sk)


def set_buffer(sk, idx, raw_size=None):  # idx: 64, 128, 4096, 65536, 65537, or 5 = raw
    return user(6, sk, u8(idx), u32(raw_size) if idx == 5 else b'')


def credit_request(sk):
    return user(7, sk)


def accept(sk):
    return user(8, sk)


def connect(port_idx, type_idx, local_idx=0):  # port: 5000, 5001, 6000; type 1 + idx; local: 0, 40000
    return user(9, 0, u8(port_idx), u8(type_idx), u8(local_idx), u8(1))


def listen(port_idx, type_idx, backlog):  # port: 1234, 1236, 7000
    return user(10, 0, u8(port_idx), u8(type_idx), u8(backlog))


def time(ms):
    return u8(13) + u8(ms // 4)


WIRE = u8(14)
FLUSH = u8(15)

SEEDS = {
    'server-stream': [
        peer(OP_REQUEST), accept(L_STREAM),
        peer(OP_RW, length=100), recv(CHILD, 50), recv(CHILD, 100),
        send(CHILD, 2000), peer(OP_CU), peer(OP_CR), send(CHILD, 3000),
        shutdown(CHILD, 2), peer(OP_SHUTDOWN), close(CHILD),
    ],
    'client-stream': [
        peer(OP_RESPONSE, src=P5000, dst=D40000), send(CLIENT, 8000),
        peer(OP_CU, src=P5000, dst=D40000, buf=1), send(CLIENT, 8000),
        peer(OP_RW, src=P5000, dst=D40000, length=700), recv(CLIENT, 9000),
        close(CLIENT), time(200), time(200),
    ],
    'seqpacket': [
        peer(OP_REQUEST, dst=D1236, type_idx=SEQ), accept(L_SEQ),
        peer(OP_RW, dst=D1236, type_idx=SEQ, flags=3, length=300),
        peer(OP_RW, dst=D1236, type_idx=SEQ, flags=0, length=1000),
        peer(OP_RW, dst=D1236, type_idx=SEQ, flags=1, length=10),
        recv(CHILD, 100), recv(CHILD, 5000, peek=True), recv(CHILD, 5000),
        send(CHILD, 3000, eor=True), send(CHILD, 5000),
        peer(OP_SHUTDOWN, dst=D1236, type_idx=SEQ, flags=1), send(CHILD, 10),
        peer(OP_RW, dst=D1236, type_idx=SEQ, flags=2, length=5),
        peer(OP_RW, dst=D1236, type_idx=SEQ, flags=3, payload=b'bytes from the input'),
    ],
    'credit-violation': [
        peer(OP_REQUEST), accept(L_STREAM),
        peer(OP_RW, length=4096), peer(OP_RW, length=10),
        peer(OP_RW, length=1),
    ],
    'malformed': [
        raw(bytes(10)), raw(bytes(range(44))), raw(bytes(range(60))),
        peer(OP_REQUEST, hdr_len=99), peer(OP_REQUEST, dst_cid_off=4),
        peer(OP_REQUEST, type_raw=7), peer(9), peer(OP_INVALID), peer(OP_REQUEST, ctl_len=8),
        peer(OP_REQUEST), accept(L_STREAM), peer(OP_RW, length=20, hdr_len=5),
        peer(OP_RESPONSE), peer(OP_REQUEST), peer(OP_RW, type_idx=SEQ, length=3),
    ],
    'stuck-wire': [
        WIRE, peer(OP_REQUEST), accept(L_STREAM),
        *[peer(OP_CR) for _ in range(60)], send(CHILD, 4000), send(CHILD, 4000),
        *[peer(OP_REQUEST, src=P6001, src_port=7000 + i) for i in range(5)],
        WIRE, FLUSH,
    ],
    'limits': [
        *[peer(OP_REQUEST, src_port=8000 + i) for i in range(12)],
        *[accept(L_STREAM) for _ in range(3)],
        *[peer(OP_REQUEST, dst=D1236, type_idx=SEQ, src_port=9000 + i) for i in range(4)],
        listen(2, 0, 3), connect(0, 0), connect(1, 1), connect(2, 0, 1),
        *[close(k) for k in range(8)],
        *[peer(OP_REQUEST, src_port=8100 + i) for i in range(4)],
    ],
    'buffer-shrink': [
        peer(OP_REQUEST), accept(L_STREAM), set_buffer(CHILD, 3),
        peer(OP_RW, length=4000), peer(OP_RW, length=4000),
        set_buffer(CHILD, 1), peer(OP_RW, length=4000),
        recv(CHILD, 9000), recv(CHILD, 9000), peer(OP_RW, length=200),
        set_buffer(CHILD, 5, 1 << 20), set_buffer(CHILD, 0),
    ],
    'timeouts': [
        connect(1, 0), time(120), peer(OP_RESPONSE, src=P5000, dst=D40001),
        close(CLIENT), peer(OP_RESPONSE, src=P5000, dst=D40000),
        peer(OP_REQUEST), accept(L_STREAM), close(CHILD), time(400), peer(OP_RST),
    ],
    'half-close-and-late-packets': [
        peer(OP_REQUEST), accept(L_STREAM),
        peer(OP_SHUTDOWN, flags=2), recv(CHILD, 10), send(CHILD, 1000),
        peer(OP_CU), shutdown(CHILD, 3), peer(OP_RST),
        peer(OP_RW, length=50), peer(OP_CU), peer(OP_SHUTDOWN), peer(OP_RST),
        close(CHILD),
    ],
    'shut-rd': [
        peer(OP_REQUEST), accept(L_STREAM), peer(OP_RW, length=1000),
        shutdown(CHILD, 1), peer(OP_RW, length=3000), peer(OP_RW, length=3000),
        recv(CHILD, 100), shutdown(CHILD, 2), peer(OP_SHUTDOWN, flags=3),
    ],
    'unread-budget': [
        *[peer(OP_REQUEST, src_port=8200 + i) for i in range(2)],
        *[peer(OP_REQUEST, dst=D1236, type_idx=SEQ, src_port=8300 + i) for i in range(2)],
        accept(L_STREAM), accept(L_STREAM), accept(L_SEQ), accept(L_SEQ),
        set_buffer(3, 3), set_buffer(4, 3), set_buffer(5, 3), set_buffer(6, 3),
        *[peer(OP_RW, src_port=8200 + i % 2, length=4000) for i in range(8)],
        *[peer(OP_RW, dst=D1236, type_idx=SEQ, flags=1, src_port=8300 + i % 2, length=3000)
          for i in range(6)],
        recv(3, 9000), recv(5, 9000),
    ],
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                             'corpus-engine')
    os.makedirs(out, exist_ok=True)
    for i, (name, cmds) in enumerate(sorted(SEEDS.items())):
        blob = b''.join(cmds)
        assert len(blob) <= 4096, name  # libFuzzer's default -max_len
        with open(os.path.join(out, f'{i:02d}-{name}'), 'wb') as f:
            f.write(blob)


if __name__ == '__main__':
    main()
