#!/usr/bin/python3
"""Per-capture labels for the nDPI test captures: reads ../shared/data/ndpi/flows.tsv
(nDPI's flows, column `class` = nDPI's category mapped onto the FlowPic classes, empty
where none fits) and writes a flowpic-prep --label-map file (docs/LABELS.md): one line
`<capture base name><TAB><class>` per capture.

Rule: a capture gets the class that holds most of its labelled flows' packets (both
directions summed; a tie goes to the class name first in alphabetical order).  Flows with
an empty class do not vote.  Captures without any labelled flow get no line, so
flowpic-prep reports them as unmatched and leaves them out (run it with --keep-going
where needed); with --exclude they get an explicit `-` line instead.

This is an APPROXIMATION: flowpic-prep labels whole captures, and a capture may mix
classes (a browsing session with an embedded video, a chat app's file transfer) or hold
unlabelled flows (DNS, NTP, ...), which all inherit the capture's class.  The report on
stderr says how many labelled flows and packets disagree with their capture's label and
how many flows/packets carry no class at all inside labelled captures.

Usage: ndpi_labels.py [--flows FLOWS.TSV] [-o MAP.tsv] [--exclude] [--json]
(-o - or no -o writes the map to stdout; --json prints the report as one JSON line on
stdout, the map then needs -o FILE.)"""
import argparse
import collections
import csv
import fnmatch
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FLOWS = os.path.join(HERE, "..", "..", "shared", "data", "ndpi", "flows.tsv")


def glob_escape(name):
    """A base name as a glob matching only itself (fnmatch: [*], [?], [[])."""
    return "".join("[%s]" % c if c in "*?[" else c for c in name)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flows", default=DEFAULT_FLOWS, help="flows.tsv (default: ../shared/data/ndpi/flows.tsv)")
    ap.add_argument("-o", "--output", default="-", help="label-map file to write (- = stdout)")
    ap.add_argument("--exclude", action="store_true", help="write `name<TAB>-` for captures without a class")
    ap.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    args = ap.parse_args()
    if args.json and args.output == "-":
        sys.exit("ndpi_labels.py: --json needs -o FILE")

    votes = collections.defaultdict(collections.Counter)   # capture -> class -> packets
    flows = collections.defaultdict(list)                  # capture -> [(class, packets)]
    with open(args.flows, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            pkts = int(row["pkts_src_to_dst"] or 0) + int(row["pkts_dst_to_src"] or 0)
            cls = (row["class"] or "").strip()
            flows[row["pcap"]].append((cls, pkts))
            if cls:
                votes[row["pcap"]][cls] += pkts

    labels = {}
    for cap, c in votes.items():
        top = max(c.values())
        labels[cap] = min(k for k, v in c.items() if v == top)

    rep = {"captures": len(flows), "labelled_captures": len(labels), "unlabelled_captures": len(flows) - len(labels),
           "class_captures": dict(sorted(collections.Counter(labels.values()).items())),
           "labelled_flows": 0, "labelled_packets": 0, "disagree_flows": 0, "disagree_packets": 0,
           "noclass_flows_in_labelled": 0, "noclass_packets_in_labelled": 0,
           "mixed_captures": sum(1 for c in votes.values() if len(c) > 1)}
    for cap, lab in labels.items():
        for cls, pkts in flows[cap]:
            if not cls:
                rep["noclass_flows_in_labelled"] += 1
                rep["noclass_packets_in_labelled"] += pkts
                continue
            rep["labelled_flows"] += 1
            rep["labelled_packets"] += pkts
            if cls != lab:
                rep["disagree_flows"] += 1
                rep["disagree_packets"] += pkts

    lines = ["# flowpic-prep --label-map for the nDPI captures, written by bench/ndpi_labels.py from %s"
             % os.path.basename(args.flows),
             "# class = the class of most of the capture's labelled flows' packets (a per-capture approximation)"]
    for cap in sorted(labels):
        lines.append("%s\t%s" % (glob_escape(os.path.basename(cap)), labels[cap]))
    if args.exclude:
        for cap in sorted(set(flows) - set(labels)):
            lines.append("%s\t-" % glob_escape(os.path.basename(cap)))
    text = "\n".join(lines) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as f:
            f.write(text)

    pct = lambda a, b: 100.0 * a / b if b else 0.0
    print("ndpi_labels: %d captures in flows.tsv, %d labelled (%s), %d without a class left out; "
          "%d labelled captures mix classes" % (rep["captures"], rep["labelled_captures"],
          ", ".join("%s %d" % kv for kv in rep["class_captures"].items()), rep["unlabelled_captures"],
          rep["mixed_captures"]), file=sys.stderr)
    print("ndpi_labels: in labelled captures, %d of %d labelled flows (%.1f%%) and %d of %d packets (%.1f%%) "
          "disagree with their capture's label; %d flows / %d packets have no class but inherit it"
          % (rep["disagree_flows"], rep["labelled_flows"], pct(rep["disagree_flows"], rep["labelled_flows"]),
             rep["disagree_packets"], rep["labelled_packets"], pct(rep["disagree_packets"], rep["labelled_packets"]),
             rep["noclass_flows_in_labelled"], rep["noclass_packets_in_labelled"]), file=sys.stderr)
    if args.json:
        print(json.dumps(rep))
    assert all(fnmatch.fnmatchcase(os.path.basename(c), glob_escape(os.path.basename(c))) for c in labels)


if __name__ == "__main__":
    main()
