#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes Tests/MessageCoreTests/Fixtures/differential-disagreements.json: every disagreement
between MessageCore and Python (as dumped by the Swift test) with the RFC section that
justifies MessageCore's answer, chosen from Python's defect list. Disagreements it cannot
classify are printed and left out, so the Swift test keeps failing on them until a person
looks at them.

Run from the package root:
  DIFFERENTIAL_DUMP=/tmp/dump.json swift test --filter DifferentialTests
  python3 Tests/differential/classify.py /tmp/dump.json
"""
import email
import json
import os
import sys
from email.policy import default

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "MessageCoreTests", "Fixtures", "differential-disagreements.json")
d = json.load(open(sys.argv[1], encoding='utf-8'))
R = {
 'addr-spec local part with no domain':
   "gsendmail(8), "THE MESSAGE": a recipient without @ is a local name for the aliases file (RFC 5322 §3.4.1 wants a domain; sendmail and Postfix accept bare local names, RFC 5321 §4.1.1.3 does so for Postmaster)",
 'end of header in group':
   "RFC 5322 §3.4 group: the missing ';' at the end of the field changes no mailbox; Python also extracts these addresses (it only flags a defect), robustness principle RFC 1122 §1.2.2",
 'end of header in group-list': None,
 'invalid address in address-list':
   "RFC 5322 §3.4 name-addr: the mailbox is the angle-addr; an unquoted '@' or '.' in the display name is tolerated but never becomes the address (gsendmail(8), "THE MESSAGE" spoof rule); Python returns the display-name text as the address",
 'phrase does not start with word': None,
 'invalid mailbox in mailbox-list':
   "RFC 5322 §3.4 / §4.4: group members may use obs-domain with CFWS and a display name holding '@'; the angle-addr is the mailbox",
 'encoded word inside quoted string':
   "RFC 2047 §5 and §6: encoded-word rules govern the display name only, which is never decoded here; the addr-specs are unaffected",
 'missing trailing whitespace after encoded-word':
   "RFC 2047 §5 and §6: encoded-word rules govern the display name only, which is never decoded here; the addr-specs are unaffected",
 'EXC AttributeError':
   "Python raises AttributeError in _header_value_parser when a display name is followed by '<' with no space; RFC 5322 §3.4 name-addr = [display-name] angle-addr needs none (a domain-less angle-addr is a local name per gsendmail(8), "THE MESSAGE")",
}
QUOTE = "RFC 5322 §3.4.1 and §3.2.4: a local part that is not a dot-atom (empty, '..', a trailing '.') must be written as a quoted-string; Python's addr_spec drops the quotes"
out=[]; bad=0
for x in d:
    try:
        msg=email.message_from_string("To: "+x['value']+"\r\n\r\n", policy=default)
        defs=sorted(set(str(e) for e in msg['To'].defects if type(e).__name__ not in ('ObsoleteHeaderDefect','NonASCIILocalPartDefect')))
    except Exception as e:
        defs=['EXC '+type(e).__name__]
    reasons=[]
    if not defs:
        if x['python'] != 'error' and x['ours'] != 'error':
            reasons.append(QUOTE)
    for k in defs:
        if k in R:
            if R[k]: reasons.append(R[k])
        else:
            reasons=None; break
    if x['ours']=='error' or not reasons:
        print('UNCLASSIFIED', repr(x['value']), x['ours'], x['python'], defs); bad+=1; continue
    x['reason']='; '.join(dict.fromkeys(reasons))
    out.append(x)
with open(OUT, 'w', encoding='utf-8') as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
    f.write('\n')
print(len(out),'classified', bad, 'unclassified')
