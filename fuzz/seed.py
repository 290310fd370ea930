#!/usr/bin/env python3
"""Write seed corpora for every fuzz target from what the repo ships.

    fuzz/seed.py [CORPUS_DIR]   (default: fuzz/corpus)

Sources: examples/sample-mirror.pcap (VXLAN/GENEVE-mirrored HTTP, TLS,
PostgreSQL, DNS and ICMP sessions) and etc/tapwatch.rules. Seeds are
written as corpus/<target>/seed-<n>; existing files are left alone, so
what the fuzzer found earlier stays in the corpus.
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SAMPLE = os.path.join(ROOT, "examples", "sample-mirror.pcap")
RULES = os.path.join(ROOT, "etc", "tapwatch.rules")
VXLAN_PORT, GENEVE_PORT = 4789, 6081


def read_pcap(path):
    """(header bytes, [(record header bytes, frame bytes)])."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data, 0)[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    head, off, recs = data[:24], 24, []
    while off + 16 <= len(data):
        caplen = struct.unpack_from(endian + "I", data, off + 8)[0]
        recs.append((data[off : off + 16], data[off + 16 : off + 16 + caplen]))
        off += 16 + caplen
    return head, recs


def pcapng(frames):
    """A minimal pcapng: section header, one Ethernet interface, EPBs."""

    def block(btype, body):
        pad = (-len(body)) % 4
        n = 12 + len(body) + pad
        return struct.pack("<II", btype, n) + body + b"\0" * pad + struct.pack("<I", n)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 65535))
    for i, fr in enumerate(frames):
        ts = 1_768_471_200_000_000 + i
        body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(fr), len(fr)) + fr
        out += block(6, body)
    return out


def layers(frame):
    """Walk Ethernet/IPv4/UDP|TCP, following VXLAN and GENEVE: yields
    ("udp"|"tcp", sport, dport, payload) for every layer."""
    while True:
        if len(frame) < 14:
            return
        etype, off = struct.unpack_from(">H", frame, 12)[0], 14
        while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:
            etype, off = struct.unpack_from(">H", frame, off + 2)[0], off + 4
        if etype != 0x0800 or len(frame) < off + 20:
            return
        ihl = (frame[off] & 0x0F) * 4
        proto = frame[off + 9]
        l4 = off + ihl
        if proto == 17 and len(frame) >= l4 + 8:
            sport, dport = struct.unpack_from(">HH", frame, l4)
            payload = frame[l4 + 8 :]
            yield ("udp", sport, dport, payload)
            if dport == VXLAN_PORT and len(payload) >= 8:
                frame = payload[8:]
                continue
            if dport == GENEVE_PORT and len(payload) >= 8:
                opt = (payload[0] & 0x3F) * 4
                frame = payload[8 + opt :]
                continue
            return
        if proto == 6 and len(frame) >= l4 + 20:
            sport, dport = struct.unpack_from(">HH", frame, l4)
            doff = (frame[l4 + 12] >> 4) * 4
            yield ("tcp", sport, dport, frame[l4 + doff :])
        return


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    counts = {}

    def put(target, data):
        if counts.get(target, 0) >= 120:
            return
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        n = counts.get(target, 0)
        counts[target] = n + 1
        p = os.path.join(d, "seed-%d" % n)
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(data)

    head, recs = read_pcap(SAMPLE)
    frames = [fr for _, fr in recs]

    # Captures: slices of the sample as pcap, and as pcapng.
    for i in range(0, min(len(recs), 160), 16):
        part = recs[i : i + 16]
        put("pcap_read", head + b"".join(h + fr for h, fr in part))
        put("pcap_read", pcapng([fr for _, fr in part]))

    # One frame: selector 0x30 = Ethernet, no checksum check, 3 tunnels.
    seen_frames = set()
    for fr in frames:
        key = fr[:64]
        if key in seen_frames or len(seen_frames) >= 200:
            continue
        seen_frames.add(key)
        put("decode", b"\x30" + fr)

    # Pipeline: [ctl][len u16 le][frame] records, sessions in order.
    for i in range(0, min(len(frames), 400), 25):
        blob = b"\x00"
        for fr in frames[i : i + 25]:
            blob += b"\x01" + struct.pack("<H", len(fr)) + fr
        put("pipeline", blob)

    streams = {}
    for fr in frames:
        for kind, sport, dport, payload in layers(fr):
            if kind == "udp" and dport == VXLAN_PORT:
                put("vxlan", payload)
            elif kind == "udp" and dport == GENEVE_PORT:
                put("geneve", payload)
            elif kind == "udp" and 53 in (sport, dport):
                put("dns", payload)
            elif kind == "tcp" and payload:
                port = min(sport, dport)
                streams.setdefault((port, sport, dport), bytearray()).extend(payload)
                if payload.split(b" ", 1)[0] in (b"GET", b"POST", b"PUT", b"HEAD", b"OPTIONS"):
                    put("http_request", payload)
                elif payload.startswith(b"HTTP/"):
                    put("http_response", payload)
                elif payload[:2] == b"\x16\x03":
                    put("tls", payload[5:])
                elif port == 5432 and dport == 5432:
                    put("pgsql_frontend", payload)
                elif port == 5432:
                    put("pgsql_backend", payload)

    # App-layer streams: [port selector][ctl][bytes]... (see applayer_stream.rs).
    ports = {80: 0, 443: 1, 5432: 2, 53: 3}
    for (port, sport, dport), data in sorted(streams.items()):
        if port not in ports:
            continue
        to_server = dport == port
        blob = bytes([ports[port]])
        chunk = 63
        for j in range(0, min(len(data), 4096), chunk):
            part = bytes(data[j : j + chunk])
            blob += bytes([(len(part) << 2) | (0 if to_server else 1)]) + part
        put("applayer_stream", blob)

    with open(RULES, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                put("rule_parse", line.encode())

    for t in sorted(counts):
        print("%-16s %d seeds" % (t, counts[t]))


if __name__ == "__main__":
    main()
