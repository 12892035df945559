#!/usr/bin/env python3
"""smtp_bench_helper.py - small helpers for bench_smtp.sh (stdlib only).

    freeport                    a 127.0.0.1 port free for both TCP and UDP
    field NAME                  top-level JSON field NAME of stdin
    dnsmasq-args                stdin: a domain body from POST /v1/domains/;
                                stdout: one dnsmasq option a line
                                (--mx-host=..., --txt-record=...)
    dns-wait PORT NAME VALUE S  until TXT NAME on 127.0.0.1:PORT holds VALUE
                                (at most S seconds; exit 1 otherwise)
    count DATA_DIR              inbound rows in DATA_DIR/tenants/*/tenant.db
"""

import glob
import json
import os
import random
import socket
import sqlite3
import struct
import sys
import time


def freeport():
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
        finally:
            u.close()
            t.close()
    raise SystemExit("no free UDP+TCP port on 127.0.0.1")


def split_txt(value):
    """A TXT value as <=255-byte character-strings."""
    data = value.encode()
    if not data:
        return [""]
    return [data[i:i + 255].decode() for i in range(0, len(data), 255)]


def dnsmasq_args(body):
    out = []
    for r in body["records"]:
        name, value = r["name"].rstrip("."), r["value"]
        if r["type"] == "MX":
            out.append("--mx-host=%s,%s,%d" % (name, value.rstrip("."),
                                                r.get("priority", 10)))
        else:
            for bad in ",\"\\\n":
                if bad in value:
                    raise SystemExit("TXT value %r holds %r, which cannot be "
                                     "passed to dnsmasq" % (value, bad))
            out.append("--txt-record=%s,%s" % (name, ",".join(split_txt(value))))
    return out


def _name(name):
    out = b""
    for label in name.rstrip(".").encode().split(b"."):
        out += bytes([len(label)]) + label
    return out + b"\0"


def _skip_name(msg, off):
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n
        if n == 0:
            return off


def txt_query(port, name, timeout=0.3):
    """The TXT values (strings joined) of name, or None on no answer."""
    qid = random.randrange(1, 0xFFFF)
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + _name(name) + \
        struct.pack(">HH", 16, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(pkt, ("127.0.0.1", port))
        msg, _ = s.recvfrom(65535)
    except OSError:
        return None
    finally:
        s.close()
    if len(msg) < 12 or struct.unpack(">H", msg[:2])[0] != qid:
        return None
    _, _, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        off = _skip_name(msg, off) + 4
    values = []
    for _ in range(an):
        off = _skip_name(msg, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        off += rdlen
        if rtype != 16:
            continue
        parts, i = [], 0
        while i < len(rdata):
            n = rdata[i]
            parts.append(rdata[i + 1:i + 1 + n].decode("latin-1"))
            i += 1 + n
        values.append("".join(parts))
    return values


def dns_wait(port, name, value, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        values = txt_query(port, name)
        if values and value in values:
            return 0
        time.sleep(0.05)
    return 1


def count(data_dir):
    total = 0
    dbs = glob.glob(os.path.join(data_dir, "tenants", "*", "tenant.db"))
    for db in dbs:
        conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
        try:
            total += conn.execute("SELECT count(*) FROM messages "
                                  "WHERE direction = 'inbound'").fetchone()[0]
        finally:
            conn.close()
    return total


def main(argv):
    if not argv:
        raise SystemExit(__doc__)
    cmd, args = argv[0], argv[1:]
    if cmd == "freeport":
        print(freeport())
    elif cmd == "field":
        v = json.load(sys.stdin).get(args[0])
        print("" if v is None else v)
    elif cmd == "dnsmasq-args":
        print("\n".join(dnsmasq_args(json.load(sys.stdin))))
    elif cmd == "dns-wait":
        return dns_wait(int(args[0]), args[1], args[2], float(args[3]))
    elif cmd == "count":
        print(count(args[0]))
    else:
        raise SystemExit("unknown command %r\n%s" % (cmd, __doc__))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
