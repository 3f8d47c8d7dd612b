#!/usr/bin/env python3
"""Small helpers for scripts/kafka-local.sh (standard library only).

  kafka_helper.py ports N
      Prints N distinct TCP ports that are free on 127.0.0.1, one per line.
  kafka_helper.py uuid
      Prints a random Kafka Uuid (22 chars, URL-safe base64, no padding),
      usable as a cluster id or a metadata directory id.
  kafka_helper.py metadata HOST:PORT [TIMEOUT_S]
      Sends one MetadataRequest v4 (no topics) and prints
      "controller=ID brokers=ID,ID,..." (broker ids sorted). Exit 1 when the
      broker cannot be reached or answers garbage within TIMEOUT_S (default 3).
"""

import base64
import os
import socket
import struct
import sys


def free_ports(count):
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            # No SO_REUSEADDR: the port must be genuinely unused right now.
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def kafka_uuid():
    while True:
        raw = os.urandom(16)
        text = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        # Kafka's Uuid.randomUuid() rejects the zero and metadata-topic ids
        # and ids whose text starts with '-' (they look like CLI options).
        if raw == bytes(16) or raw == bytes(15) + b"\x01" or text.startswith("-"):
            continue
        return text


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        buf.extend(chunk)
    return bytes(buf)


class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, fmt):
        vals = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return vals[0] if len(vals) == 1 else vals

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s


def metadata(hostport, timeout):
    host, _, port = hostport.rpartition(":")
    client_id = b"kwire-kafka-local"
    correlation_id = 7
    # Request header v1 + MetadataRequest v4: topics = [] (none),
    # allow_auto_topic_creation = false.
    body = struct.pack(">hhih", 3, 4, correlation_id, len(client_id)) + client_id
    body += struct.pack(">ib", 0, 0)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", _recv_exact(sock, 4))[0]
        if size <= 0 or size > 16 * 1024 * 1024:
            raise ValueError("bad response size %d" % size)
        r = _Reader(_recv_exact(sock, size))
    if r.take(">i") != correlation_id:
        raise ValueError("correlation id mismatch")
    r.take(">i")  # throttle_time_ms
    brokers = []
    for _ in range(r.take(">i")):
        node_id = r.take(">i")
        r.string()  # host
        r.take(">i")  # port
        r.string()  # rack
        brokers.append(node_id)
    r.string()  # cluster_id
    controller = r.take(">i")
    return controller, sorted(brokers)


def main(argv):
    if len(argv) >= 2 and argv[0] == "ports":
        for p in free_ports(int(argv[1])):
            print(p)
        return 0
    if len(argv) == 1 and argv[0] == "uuid":
        print(kafka_uuid())
        return 0
    if len(argv) in (2, 3) and argv[0] == "metadata":
        timeout = float(argv[2]) if len(argv) == 3 else 3.0
        try:
            controller, brokers = metadata(argv[1], timeout)
        except (OSError, ValueError, struct.error) as exc:
            print("metadata %s: %s" % (argv[1], exc), file=sys.stderr)
            return 1
        print("controller=%d brokers=%s" % (controller, ",".join(map(str, brokers))))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
