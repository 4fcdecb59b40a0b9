"""ktap.py: reads the one test protocol every pagoda test speaks: KTAP (Linux's
Documentation/dev-tools/ktap.rst) and TAP 13 (Criterion's --tap), its flat ancestor.

A document is a version line, a plan "1..N" and one result line "ok N name" or
"not ok N name [# directive or diagnostic]" per test; a test's subtests are a document
indented one level (4 spaces) deeper, printed before the test's own result line. Lines
that are none of these (diagnostics "# ...", other output) are ignored, and a serial
console's "[cpuN] " prefix is stripped first, so a boot's whole log can be parsed."""
import re

PREFIX = re.compile(r"^\[cpu\d+\] ")
VERSION = re.compile(r"^(KTAP version \d+|TAP version \d+)\s*$")
PLAN = re.compile(r"^1\.\.(\d+)\s*$")
RESULT = re.compile(r"^(not ok|ok)\b(?:\s+(\d+))?(?:\s+-)?\s*(.*?)\s*$")

class Test:
    """One result line, with its subtests (the document printed before it)."""
    def __init__(self, name, ok, directive="", children=None):
        self.name, self.ok, self.directive = name, ok, directive
        self.children = children or []

    @property
    def skipped(self):
        return self.directive.upper().startswith("SKIP")

class Doc:
    def __init__(self, indent):
        self.indent, self.plan, self.tests, self.errors = indent, None, [], []

def _split(line):
    """(indent, text) of one log line, prefix and line end removed."""
    line = PREFIX.sub("", line.rstrip("\r\n"))
    text = line.lstrip(" ")
    return len(line) - len(text), text

def _close(doc):
    """Checks doc's plan against its results (the errors are failures of their own)."""
    if doc.plan is None:
        if doc.tests:
            doc.errors.append(f"{len(doc.tests)} results without a plan")
    elif len(doc.tests) != doc.plan:
        doc.errors.append(f"planned {doc.plan} tests, reported {len(doc.tests)}")
    return doc

def parse(text):
    """The top-level document of text (None if there is none) with its tree of
    Tests; every document's errors list says where it broke the protocol."""
    stack, top = [], None  # open documents, outermost first
    pending = None  # the last closed subtest document, waiting for its result line

    def set_pending(doc):
        nonlocal pending
        if pending is not None and stack:  # never claimed by a result line
            stack[-1].errors.append(f"{len(pending.tests)} subtest results without their test's result line")
        pending = doc

    for line in text.splitlines():
        indent, body = _split(line)
        if VERSION.match(body):
            if top is not None and not stack:
                top.errors.append("a second top-level document follows")
                continue
            while stack and stack[-1].indent >= indent:  # a new document here
                doc = _close(stack.pop())
                if not stack:
                    top.errors.append("a second top-level document follows")
                else:
                    set_pending(doc)
            set_pending(None)
            doc = Doc(indent)
            if top is None:
                top = doc
            stack.append(doc)
            continue
        m = PLAN.match(body)
        if m and stack and stack[-1].indent == indent:
            if stack[-1].plan is not None:
                stack[-1].errors.append("a second plan")
            stack[-1].plan = int(m.group(1))
            continue
        m = RESULT.match(body)
        if m is None or not stack or indent < stack[0].indent:
            continue
        while len(stack) > 1 and stack[-1].indent > indent:  # this result's subtests end
            set_pending(_close(stack.pop()))
        if stack[-1].indent != indent:
            continue  # not at a document's level: someone else's output
        name, _, directive = m.group(3).partition(" # ")
        t = Test(name.strip(), m.group(1) == "ok", directive.strip())
        if pending is not None:
            t.children, t.doc = pending.tests, pending
            pending = None
        stack[-1].tests.append(t)
    while stack:
        doc = _close(stack.pop())
        if stack:
            set_pending(doc)
    set_pending(None)
    return top

def walk(doc, path=""):
    """Yields (path, ok, note) for every test in doc's tree, and (path, False, error)
    for every protocol error, so each counts as one case."""
    for e in doc.errors:
        yield f"{path}(KTAP)", False, e
    for t in doc.tests:
        p = f"{path}{t.name}"
        yield p, t.ok, t.directive
        sub = getattr(t, "doc", None)
        if sub is not None:
            yield from walk(sub, p + "/")
