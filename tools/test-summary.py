#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tools/test-summary.py TESTLOG.json: counts the test cases of a meson run from the TAP each
# test executable printed, and prints "N passed, N failed" as the last line (what CI reads).
# A skipped case counts as neither; an executable that crashed or timed out without reporting
# a failing case counts as one failure, so a crash can never look like a pass.
import json
import re
import sys

passed = failed = skipped = 0
broken = []
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        entry = json.loads(line)
        ok = not_ok = 0
        for tap in entry.get("stdout", "").splitlines():
            if re.match(r"^ok\b", tap):
                if re.search(r"#\s*SKIP", tap, re.I):
                    skipped += 1
                else:
                    ok += 1
            elif re.match(r"^not ok\b", tap):
                if re.search(r"#\s*TODO", tap, re.I):
                    skipped += 1
                else:
                    not_ok += 1
        if entry.get("result") not in ("OK", "EXPECTEDFAIL") and not_ok == 0:
            not_ok = 1
            broken.append("%s (%s)" % (entry.get("name"), entry.get("result")))
        passed += ok
        failed += not_ok

for name in broken:
    print("broken: " + name)
if skipped:
    print("%d skipped (not counted as passed)" % skipped)
print("%d passed, %d failed" % (passed, failed))
