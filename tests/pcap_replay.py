#!/usr/bin/python3
"""Writes a pcap file's records to stdout at the pace of their timestamps (sped up by
--speed), flushing each one: a live capture's stream for flowpic-infer --stream - tests.

  pcap_replay.py CAPTURE [--speed 10] [--done-file F] [--cut-last N] [--hold S]

--done-file: after the last record, write time.monotonic() (CLOCK_MONOTONIC, what C++'s
steady_clock reads on Linux) to F, so a test can tell which output came before the end.
--cut-last N: leave the last N bytes of the last record out (a stream ending mid-record).
--hold S: keep stdout open S seconds after the last record (a writer gone quiet), or
until the reader goes.
Classic pcap only (either byte order, micro- or nanosecond timestamps); raw struct, no
dependencies."""
import argparse
import select
import struct
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("--speed", type=float, default=10.0)
    ap.add_argument("--done-file")
    ap.add_argument("--cut-last", type=int, default=0)
    ap.add_argument("--hold", type=float, default=0.0)
    a = ap.parse_args()
    data = open(a.capture, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        sys.exit("pcap_replay.py: %s: not a classic pcap file" % a.capture)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    records = []
    pos = 24
    while pos + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(end + "IIII", data[pos:pos + 16])
        records.append((sec + frac / (1e9 if nano else 1e6), data[pos:pos + 16 + caplen]))
        pos += 16 + caplen
    out = sys.stdout.buffer
    out.write(data[:24])
    out.flush()
    t0 = records[0][0] if records else 0.0
    start = time.monotonic()
    for i, (ts, rec) in enumerate(records):
        wait = (ts - t0) / a.speed - (time.monotonic() - start)
        if wait > 0:
            time.sleep(wait)
        if i == len(records) - 1 and a.cut_last:
            rec = rec[:max(0, len(rec) - a.cut_last)]
        out.write(rec)
        out.flush()
    if a.done_file:
        with open(a.done_file, "w") as f:
            f.write("%.9f\n" % time.monotonic())
    if a.hold:  # quiet, until the time is up or the reader is gone
        p = select.poll()
        p.register(out.fileno(), select.POLLERR | select.POLLHUP)
        until = time.monotonic() + a.hold
        while time.monotonic() < until and not p.poll(100):
            pass


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(0)
