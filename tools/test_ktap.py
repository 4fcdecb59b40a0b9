#!/usr/bin/env python3
"""test_ktap.py: tests of tools/ktap.py, the reader every test report goes through
(a reader that misses a failure would hide it). Prints one line; exit status 0 or 1."""
import os, sys, unittest
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktap

BOOT = """pagoda: boot
[cpu0] KTAP version 1
[cpu0] 1..3
[cpu0] # RUN a
[cpu0] ok 1 a # 3 ms
[cpu0]     KTAP version 1
[cpu0]     1..2
[cpu1]         KTAP version 1
[cpu1]         1..2
[cpu1]         ok 1 x_one
[cpu1] x: some output that is not KTAP
[cpu1]         # x_two: file:1: expected 1 == 2
[cpu1]         not ok 2 x_two
[cpu0]     ok 1 x
[cpu0]     ok 2 victim
[cpu0] not ok 2 user_x # 5 ms
[cpu0] ok 3 big # SKIP needs 1 GiB
"""

def cases(text):
    doc = ktap.parse(text)
    return None if doc is None else list(ktap.walk(doc))

class KtapTest(unittest.TestCase):
    def test_nested_boot(self):
        self.assertEqual(cases(BOOT), [
            ("a", True, "3 ms"), ("user_x", False, "5 ms"), ("user_x/x", True, ""),
            ("user_x/x/x_one", True, ""), ("user_x/x/x_two", False, ""),
            ("user_x/victim", True, ""), ("big", True, "SKIP needs 1 GiB")])

    def test_fewer_results_than_planned_fails(self):
        got = cases(BOOT.split("[cpu0]     ok 1 x")[0])
        self.assertIn(("(KTAP)", False, "planned 3 tests, reported 1"), got)

    def test_more_results_than_planned_fails(self):
        got = cases("KTAP version 1\n1..1\nok 1 a\nok 2 b\n")
        self.assertIn(("(KTAP)", False, "planned 1 tests, reported 2"), got)

    def test_subtests_without_their_result_line_fail(self):
        got = cases("KTAP version 1\n1..1\n    KTAP version 1\n    1..1\n    ok 1 s\n")
        self.assertFalse(all(ok for _, ok, _ in got))

    def test_no_report(self):
        self.assertIsNone(cases("[cpu0] panic: nothing to see\n"))

    def test_criterion_tap(self):
        tap = ("TAP version 13\n1..2\n# Criterion v2.4.1\nnot ok - s::fails  (0.03s)\n"
               "  ---\n  assertions: 1\n  ...\nok - s::fine  (0.00s)\n")
        self.assertEqual([(p.split()[0], ok) for p, ok, _ in cases(tap)],
                         [("s::fails", False), ("s::fine", True)])

if __name__ == "__main__":
    r = unittest.TextTestRunner(stream=open(os.devnull, "w")).run(
        unittest.defaultTestLoader.loadTestsFromTestCase(KtapTest))
    bad = r.failures + r.errors
    print(f"ktap reader: {r.testsRun - len(bad)}/{r.testsRun} self-tests passed"
          + "".join(f"\n{t}: {e.splitlines()[-1]}" for t, e in bad))
    sys.exit(1 if bad else 0)
