#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# mkcorpus-vhost-user.py: writes the seed corpus of fuzz-vhost-user.c (tests/fuzz/corpus-vhost-user/).
# Usage: mkcorpus-vhost-user.py [DIR]   (default: corpus-vhost-user next to this script)
# The command format is described at the top of fuzz-vhost-user.c; these helpers follow it byte for byte.
# The crash-* files in the corpus are not made here: inputs that once broke the device (fixed since).
import os
import struct
import sys

P = 4096
GPA = 0x100000
RX, TX = 0, 1


def u8(v): return struct.pack('<B', v & 0xff)
def u16(v): return struct.pack('<H', v & 0xffff)
def u32(v): return struct.pack('<I', v & 0xffffffff)
def u64(v): return struct.pack('<Q', v & 0xffffffffffffffff)


def poke(off, data):
    """Command 11, once per byte: the guest writes data at off of its memory."""
    return b''.join(u8(11) + u16(off + i) + u8(b) for i, b in enumerate(data))


def setup(num=8, protocol=(1 << 3) | (1 << 9), features_good=True):
    s = u8(1) + u8(0 if features_good else 1)
    s += u8(2) + u64(protocol)
    s += u8(3) + u8(1) + u8(0)                       # one good region
    for idx in (RX, TX):
        s += u8(4) + u8(idx) + u16(num)              # SET_VRING_NUM
        s += u8(5) + u8(idx) + u8(0)                 # good addresses
        s += u8(7) + u8(0) + u8(idx) + u8(0)         # kick eventfd
        s += u8(7) + u8(1) + u8(idx) + u8(0)         # call eventfd
        s += u8(8) + u8(idx) + u8(1)                 # enable
    return s


def desc(addr, length, flags=0, nxt=0):
    return u64(addr) + u32(length) + u16(flags) + u16(nxt)


def vhdr(op, length=0, typ=1, flags=0, src=3, dst=2, sport=1024, dport=1234, buf_alloc=262144):
    return u64(src) + u64(dst) + u32(sport) + u32(dport) + u32(length) + u16(typ) + u16(op) + u32(flags) + \
        u32(buf_alloc) + u32(0)


def tx_ring_base(): return 0
def rx_ring_base(): return P


def seeds():
    out = {}
    buf = 2 * P
    # A REQUEST on the TX ring, header in one descriptor: delivered.
    s = setup()
    s += poke(buf, vhdr(1))
    s += poke(tx_ring_base(), desc(GPA + buf, 44))
    s += poke(tx_ring_base() + 512, u16(0) + u16(1) + u16(0))
    s += u8(12) + u8(0)
    out['00-tx-request'] = s
    # An RW of 100 bytes, header and payload in two chained descriptors.
    s = setup()
    s += poke(buf, vhdr(5, 100))
    s += poke(tx_ring_base(), desc(GPA + buf, 44, 1, 1) + desc(GPA + buf + 64, 100))
    s += poke(tx_ring_base() + 512, u16(0) + u16(1) + u16(0))
    s += u8(12) + u8(0)
    out['01-tx-rw-split'] = s
    # Small RX buffers (56 payload bytes each), a 120-byte SEQPACKET message split over them: three
    # take it whole; with two, the rest waits inside the device for the next buffer.
    for name, nbufs in (('02-rx-split-seqpacket', 3), ('05-rx-partial', 2)):
        s = setup()
        s += poke(rx_ring_base(), b''.join(desc(GPA + buf + 1024 + 200 * i, 100, 2) for i in range(nbufs)))
        s += poke(rx_ring_base() + 512, u16(0) + u16(nbufs) + b''.join(u16(i) for i in range(nbufs)))
        s += u8(13) + u16(120) + u8(0) + vhdr(5, 120, typ=2, flags=3, src=2, dst=3) + bytes(range(256))
        s += u8(12) + u8(1)
        out[name] = s
    # No buffers: the send waits, then the guest gives one and kicks.
    s = setup()
    s += u8(13) + u16(10) + u8(0) + vhdr(5, 10, src=2, dst=3) + bytes(256)
    s += poke(rx_ring_base(), desc(GPA + buf + 1024, 200, 2))
    s += poke(rx_ring_base() + 512, u16(0) + u16(1) + u16(0))
    s += u8(12) + u8(1)
    out['03-rx-wait'] = s
    # A stop (GET_VRING_BASE), a memory table change, REPLY_ACK on a bad request, a raw garbage message.
    s = setup()
    s += u8(9) + u8(0) + u8(TX)
    s += u8(0x80 | 3) + u8(2) + u8(0) + u8(1) + u64(GPA) + u64(1 << 40) + u64(0x1000) + u64(0)
    s += u8(10) + u32(5) + u16(4) + b'\xff\xff\xff\xff' + u8(1) + u32(1)
    out['04-stop-and-bad'] = s
    # QEMU 8.2+: the driver resets the device (stop, RESET_DEVICE with NEED_REPLY), then starts it
    # again without sending the protocol features or the memory: SET_FEATURES, SET_STATUS and the
    # rings, each asking for an ack, then a packet on TX. Protocol features: REPLY_ACK, CONFIG,
    # CONFIGURE_MEM_SLOTS, RESET_DEVICE, STATUS.
    proto = (1 << 3) | (1 << 9) | (1 << 15) | (1 << 13) | (1 << 16)
    s = setup(protocol=proto)
    s += u8(0x80 | 8) + u8(RX) + u8(0) + u8(0x80 | 8) + u8(TX) + u8(0)
    s += u8(9) + u8(0) + u8(RX) + u8(9) + u8(0) + u8(TX)
    s += u8(0x80 | 9) + u8(1)                        # RESET_DEVICE
    s += u8(0x80 | 1) + u8(0)                        # SET_FEATURES
    s += u8(0x80 | 9) + u8(2) + u8(8)                # SET_STATUS FEATURES_OK
    for idx in (RX, TX):
        s += u8(0x80 | 4) + u8(idx) + u16(8)
        s += u8(0x80 | 5) + u8(idx) + u8(0)
        s += u8(0x80 | 7) + u8(0) + u8(idx) + u8(0)
        s += u8(0x80 | 8) + u8(idx) + u8(1)
    s += u8(0x80 | 9) + u8(2) + u8(15)               # SET_STATUS DRIVER_OK
    s += poke(buf, vhdr(1))
    s += poke(tx_ring_base(), desc(GPA + buf, 44))
    s += poke(tx_ring_base() + 512, u16(0) + u16(1) + u16(0))
    s += u8(12) + u8(0)
    out['06-reset-device-keeps-session'] = s
    return out


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                           'corpus-vhost-user')
    os.makedirs(d, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
