#!/usr/bin/python3
"""Extraction baseline with dpkt: what `flowpic-extract FILE --flows OUT` does, written the
way a researcher's script does it.  Reads a pcap (or pcapng), keeps a bidirectional
5-tuple dict with per-direction packet and byte counts (bytes = IP total length; the
first packet's sender is the client), and prints one JSON line:
{"tool", "packets", "seconds", "packets_per_s", "mb_per_s", "flows"}.
"packets" counts capture records read; MB/s is capture-file bytes read per second.
Run with Debian's python: /usr/bin/python3 bench/extract_dpkt.py FILE [--limit N]."""
import argparse
import json
import time

import dpkt


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("pcap")
    ap.add_argument("--limit", type=int, default=0, help="stop after N packets (0 = all)")
    args = ap.parse_args()

    flows = {}  # (client ip, client port, server ip, server port, proto) -> [pk_fwd, b_fwd, pk_rev, b_rev]
    packets = 0
    nbytes = 24  # global header
    start = time.perf_counter()
    with open(args.pcap, "rb") as f:
        reader = dpkt.pcap.UniversalReader(f)
        for _ts, buf in reader:
            packets += 1
            nbytes += 16 + len(buf)
            try:
                eth = dpkt.ethernet.Ethernet(buf)
            except dpkt.UnpackError:
                continue
            ip = eth.data
            if isinstance(ip, dpkt.ip.IP):
                size = ip.len
            elif isinstance(ip, dpkt.ip6.IP6):
                size = ip.plen + 40
            else:
                continue
            l4 = ip.data
            if not isinstance(l4, (dpkt.tcp.TCP, dpkt.udp.UDP)):
                continue
            key = (ip.src, l4.sport, ip.dst, l4.dport, ip.p)
            rec = flows.get(key)
            if rec is not None:
                rec[0] += 1
                rec[1] += size
            else:
                rev = (ip.dst, l4.dport, ip.src, l4.sport, ip.p)
                rec = flows.get(rev)
                if rec is not None:
                    rec[2] += 1
                    rec[3] += size
                else:
                    flows[key] = [1, size, 0, 0]
            if args.limit and packets >= args.limit:
                break
    seconds = time.perf_counter() - start
    print(json.dumps({
        "tool": "dpkt " + dpkt.__version__,
        "packets": packets,
        "seconds": seconds,
        "packets_per_s": packets / seconds if seconds > 0 else 0.0,
        "mb_per_s": nbytes / 1e6 / seconds if seconds > 0 else 0.0,
        "flows": len(flows),
    }))


if __name__ == "__main__":
    main()
