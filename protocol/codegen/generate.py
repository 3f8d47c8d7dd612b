#!/usr/bin/env python3
"""Generates kwire's C++ protocol types from Kafka's JSON message definitions.

Inputs: --schema DIR (the JSON files, legacy/<kafka version>/ with older definitions of
messages whose oldest versions the primary set dropped, errors.tsv). Outputs under --out:
include/kwire/protocol/{messages,broker_errors,test_fill}.hpp and src/*.cpp.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import errors_gen  # noqa: E402
import messages_gen  # noqa: E402


def write_if_changed(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path) as f:
            if f.read() == text:
                os.utime(path)
                return
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    outputs = {}
    outputs.update(errors_gen.generate(os.path.join(args.schema, "errors.tsv")))
    outputs.update(messages_gen.generate(args.schema))
    for rel, text in outputs.items():
        write_if_changed(os.path.join(args.out, rel), text)


if __name__ == "__main__":
    main()
