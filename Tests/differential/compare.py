#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Differential fixture for MessageCore's address parsing (issue: -t recipient extraction).

Generates address header values (a fixed seed, so the output is reproducible) plus a hand
list of real-world values, parses each one as a `To:` field with Python's email package
(policy.default, i.e. email.headerregistry.AddressHeader) and writes the answers to
Tests/MessageCoreTests/Fixtures/differential-python.json. The Swift test
DifferentialTests.swift parses the same values with MessageCore and fails on any
disagreement that is not listed, with its justification, in
Tests/MessageCoreTests/Fixtures/differential-disagreements.json.

Python's answer is "error" when the parse raised or reported a defect other than
ObsoleteHeaderDefect / NonASCIILocalPartDefect (obsolete syntax and RFC 6532 UTF-8 are
valid input); otherwise it is the list of addr-specs, groups flattened.

Run: python3 Tests/differential/compare.py   (from the package root)
"""
import email
import email.errors
import json
import os
import random
import sys
from email.policy import default

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "MessageCoreTests", "Fixtures", "differential-python.json")
TOLERATED = (email.errors.ObsoleteHeaderDefect, email.errors.NonASCIILocalPartDefect)

REAL_WORLD = [
    "root",
    "root, admin@example.com",
    "undisclosed-recipients:;",
    "undisclosed-recipients: ;",
    "Undisclosed recipients:;",
    "\"Doe, John\" <john.doe@example.com>",
    "John Doe <john.doe@example.com>, Jane Roe <jane.roe@example.org>",
    "john.doe@example.com (John Doe)",
    "<john.doe@example.com>",
    "=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <joerg@example.de>",
    "=?iso-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>",
    "\"J\u00f6rg M\u00fcller\" <joerg@example.de>",
    "J\u00f6rg M\u00fcller <joerg@example.de>",
    "\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a",
    "postmaster@[192.0.2.1]",
    "postmaster@[IPv6:2001:db8::1]",
    "\"very.unusual.@.unusual.com\"@example.com",
    "\"much.more unusual\"@example.com",
    "admin@mailserver1",
    "user+tag@example.com",
    "user%host@relay.example",
    "o'reilly@example.com",
    "#!$%&'*+-/=?^_`{}|~@example.org",
    "cron-daemon <root@localhost>",
    "Cron Daemon <root@host.example.com>",
    "\"(cron)\" <root@host>",
    "devnull@example.com,",
    ",devnull@example.com",
    "a@example.com,,b@example.com",
    "a@example.com, ,b@example.com",
    "Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
    "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
    "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
    "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
    "(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;",
    "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
    "John Doe <jdoe@machine(comment).  example>",
    "\"Joe Q. Public\" <john.q.public@example.com>",
    "Joe Q. Public <john.q.public@example.com>",
    "Who? <one@y.test>",
    "\"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
    "alice@example.org <bob@example.org>",
    "bob@example.org <bob@example.org>",
    "\"alice@example.org\" <bob@example.org>",
    "alice@example.org bob@example.org",
    "alice@example.org; bob@example.org",
    "Alice <alice@example.org",
    "alice@",
    "@example.org",
    "alice@@example.org",
    "alice..bob@example.org",
    ".alice@example.org",
    "alice.@example.org",
    "alice@example..org",
    "alice@.example.org",
    "alice@example.org.",
    "\"unterminated@example.org",
    "(unterminated comment alice@example.org",
    "alice@[127.0.0.1",
    "<>",
    "Name <>",
    "<<alice@example.org>>",
    "alice@example.org>",
    "alice(at)example.org",
    "alice at example.org",
    "a@b, c@d; e@f",
    "group: a@b; c@d",
    "group: a@b;, c@d",
    "group: inner: a@b;;",
    "group: a@b",
    "To: a@b",
    "\"\"@example.org",
    "\" \"@example.org",
    "\"a\\\\b\"@example.org",
    "\"a\\\"b\"@example.org",
    "Kevin \"K.\" Smith <kevin@example.com>",
    "Dr. Who <who@tardis.example>",
    "Mr. Smith, Jr. <smith@example.com>",
    "\"Smith, Jr.\" <smith@example.com>",
    "<user@example.com> (comment), other@example.com",
    "user@example.com (a (nested) comment)",
    "user@example.com\r\n (folded comment)",
    "a@example.com,\r\n b@example.com,\r\n\tc@example.com",
    "  spaced@example.com  ",
    "\tTAB <tab@example.com>",
    "UPPER@EXAMPLE.COM",
    "user@xn--exmple-cua.com",
    "user@ex\u00e4mple.com",
    "j\u00f6rg@example.de",
    "<@relay1.example,@relay2.example:user@final.example>",
    "<@relay1.example:user@final.example>",
    "Name <@relay.example,user@final.example>",
    "nobody@example.invalid, \"Nobody\" <nobody@example.invalid>",
    "a@b (c) , (d) e@f",
]

ATOMS = ["alice", "bob", "o'neil", "x", "root", "user+tag", "a_b", "UPPER", "j\u00f6rg",
         "\u7528\u6237", "a=b", "#!$", "dot-less", "q?"]
DOMAINS = ["example.org", "EXAMPLE.COM", "mail.example.co.uk", "localhost", "ex\u00e4mple.de",
           "xn--bcher-kva.example", "a.b.c.d.e"]
NAMES = ["Alice", "Bob Builder", "J. R. R. Tolkien", "O'Neil", "M\u00fcller", "Who?",
         "=?UTF-8?Q?Caf=C3=A9?=", "Smith Jr."]
COMMENTS = ["(c)", "(a comment)", "(nested (comment))", "(escaped \\) paren)", "()"]


def ws(r):
    return r.choice(["", " ", " ", "  ", "\t", "\r\n ", "\r\n\t"])


def cm(r):
    return r.choice(["", "", "", "", " " + r.choice(COMMENTS) + " "])


def quoted(r, text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def local_part(r):
    k = r.random()
    if k < 0.55:
        return r.choice(ATOMS)
    if k < 0.75:
        return ".".join(r.choice(ATOMS) for _ in range(r.randint(2, 3)))
    if k < 0.85:
        return quoted(r, r.choice(["a b", "x@y", "dot.", "q\"uote", "back\\slash", "", "..", "semi;colon"]))
    if k < 0.93:
        return r.choice(ATOMS) + "." + quoted(r, "w s")  # obs-local-part
    return r.choice(["a..b", ".a", "a.", "a b"])  # malformed


def domain(r):
    k = r.random()
    if k < 0.75:
        return r.choice(DOMAINS)
    if k < 0.85:
        return r.choice(["[192.0.2.7]", "[ 10.0.0.1 ]", "[IPv6:::1]"])
    if k < 0.93:
        return "example" + ws(r) + "." + ws(r) + "org"  # obs-domain with CFWS
    return r.choice(["", "a..b", ".org", "org.", "[unterminated"])  # malformed


def addr_spec(r):
    if r.random() < 0.06:
        return local_part(r)  # bare local name
    return local_part(r) + cm(r) + "@" + cm(r) + domain(r)


def display_name(r):
    k = r.random()
    if k < 0.6:
        return r.choice(NAMES)
    if k < 0.85:
        return quoted(r, r.choice(NAMES + ["Last, First", "a@b.c", "x <y>", "semi;", ""]))
    return r.choice(["alice@example.org", "Name With. Dot", "(comment) Name", "Bad]Name"])


def mailbox(r):
    k = r.random()
    if k < 0.4:
        return addr_spec(r) + cm(r)
    route = ""
    if r.random() < 0.08:
        route = "@relay.example" + r.choice(["", ",@hop.example"]) + ":"
    name = display_name(r) + ws(r) if r.random() < 0.7 else ""
    close = ">" if r.random() > 0.03 else ""
    return name + "<" + route + addr_spec(r) + close + cm(r)


def address(r):
    if r.random() < 0.1:
        members = [mailbox(r) for _ in range(r.randint(0, 3))]
        return r.choice(["Team", "undisclosed-recipients", "A Group"]) + ":" + ws(r) + \
            ("," + ws(r)).join(members) + r.choice([";", ";", ";", ""])
    return mailbox(r)


def header_value(r):
    n = r.randint(1, 4)
    parts = [address(r) for _ in range(n)]
    seps = [r.choice([",", ", ", ",\r\n ", " , ", ",,", ", ,"]) for _ in range(n - 1)]
    out = ws(r).replace("\r\n", "")
    for i, p in enumerate(parts):
        out += p
        if i < len(seps):
            out += seps[i]
    return out


def python_answer(value):
    try:
        msg = email.message_from_string("To: " + value + "\r\n\r\n", policy=default)
        header = msg["To"]
        defects = [type(d).__name__ for d in header.defects if not isinstance(d, TOLERATED)]
        addrs = [a.addr_spec for a in header.addresses]
    except Exception as e:  # noqa: BLE001 - any failure is Python's "error" answer
        return {"ok": False, "addresses": [], "defects": [type(e).__name__]}
    return {"ok": not defects, "addresses": addrs, "defects": defects}


def main():
    r = random.Random(5322)
    values = list(REAL_WORLD)
    seen = set(values)
    while len(values) < len(REAL_WORLD) + 300:
        v = header_value(r)
        if v not in seen:
            seen.add(v)
            values.append(v)
    cases = [{"value": v, "python": python_answer(v)} for v in values]
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"python": sys.version.split()[0], "cases": cases}, f, ensure_ascii=False,
                  indent=1)
        f.write("\n")
    print(f"{len(cases)} cases ({len(REAL_WORLD)} real-world) -> {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
