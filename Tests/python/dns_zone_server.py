"""A name server for tests: serves a zone file on 127.0.0.1 over UDP, on a free port that
it prints as the first line of standard output, until standard input reaches end of file
(so it ends with the test process that started it) or it is killed. Names not in the zone
get NXDOMAIN (dnslib's zone resolver); names given with --servfail get SERVFAIL.

    python3 dns_zone_server.py ZONE-FILE [--servfail NAME]...
"""
import argparse
import os
import sys
import threading

from dnslib import DNSLabel, RCODE
from dnslib.server import DNSLogger, DNSServer
from dnslib.zoneresolver import ZoneResolver


class TestResolver(ZoneResolver):
    def __init__(self, zone, servfail):
        super().__init__(zone)
        self.servfail = [DNSLabel(name) for name in servfail]

    def resolve(self, request, handler):
        if request.q.qname in self.servfail:
            reply = request.reply()
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        return super().resolve(request, handler)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("zone")
    parser.add_argument("--servfail", action="append", default=[])
    args = parser.parse_args()
    with open(args.zone) as f:
        resolver = TestResolver(f.read(), args.servfail)
    server = DNSServer(resolver, address="127.0.0.1", port=0, logger=DNSLogger("-request,-reply,-truncated,-error"))
    print(server.server.server_address[1], flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    server.start()


if __name__ == "__main__":
    sys.exit(main())
