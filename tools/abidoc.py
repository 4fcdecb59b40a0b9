#!/usr/bin/env python3
"""abidoc.py: writes the generated tables of docs/abi.md from include/pagoda/syscalls.def
and errors.def, or with --check fails (printing a diff) when the committed file is not
what the lists give. The lists are read through the C preprocessor, as the kernel and
libpagoda read them, so the tables show exactly what the code compiles.

Each table sits between "<!-- BEGIN name -->" and "<!-- END name -->" lines; the
rest of the file is prose and is left alone. Every parameter type the calls use must
have a row in the hand-written types table (its first column is `type`).
"""
import argparse, ast, difflib, os, re, subprocess, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

def expand(lines):
    cc = os.environ.get("CC", "cc")
    out = subprocess.run([cc, "-E", "-P", "-I", ROOT, "-x", "c", "-"], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True).stdout
    return [l for l in out.splitlines() if l.startswith("@ ")]

def parse(lines, pattern):
    """The rows the .def file's macro (defined in lines[0]) expands to, each matched."""
    out = []
    for l in expand(lines):
        m = re.fullmatch(pattern, l)
        if not m:
            sys.exit(f"abidoc: cannot read {l!r}")
        out.append(m)
    return out

def syscalls():
    rows = parse(['#define SYSCALL(nr, NAME, name, ret, what, ...) @ nr NAME name ret what #__VA_ARGS__',
                  '#include "include/pagoda/syscalls.def"'],
                 r'@ (\d+) (\w+) (\w+) (\w+) ("(?:[^"\\]|\\.)*") (".*")')
    return sorted((int(m.group(1)), m.group(2), m.group(3), m.group(4), ast.literal_eval(m.group(5)),
                   re.findall(r"\((\w+), (\w+)\)", ast.literal_eval(m.group(6)))) for m in rows)

def errors():
    rows = parse(['#define ERROR_CODE(name, value, what) @ name value what',
                  '#include "include/pagoda/errors.def"'],
                 r'@ (\w+) \(?(-?\d+)\)? ("(?:[^"\\]|\\.)*")')
    return [(m.group(1), int(m.group(2)), ast.literal_eval(m.group(3))) for m in rows]

def syscall_table(calls):
    t = ["| # | call | parameters | returns | what it does |", "|---|---|---|---|---|"]
    for nr, NAME, name, ret, what, params in calls:
        p = ", ".join(f"{ty} {n}" for ty, n in params) or "—"
        t.append(f"| {nr} | `SYS_{NAME}`, `pg_{name}` | {p} | {ret} | {what} |")
    return t

def error_table(errs):
    t = ["| code | value | meaning |", "|---|---|---|"]
    t += [f"| `{n}` | {v} | {w} |" for n, v, w in errs]
    return t

def render(text, tables):
    for name, body in tables.items():
        pat = re.compile(rf"(<!-- BEGIN {name} [^\n]*-->\n).*?(<!-- END {name} -->)", re.S)
        if not pat.search(text):
            sys.exit(f"abidoc: no BEGIN/END {name} markers")
        text = pat.sub(lambda m: m.group(1) + "\n".join(body) + "\n" + m.group(2), text)
    return text

def check_types(text, calls):
    section = re.search(r"^## Parameter types\n(.*?)^## ", text, re.S | re.M)
    if not section:
        sys.exit("abidoc: no '## Parameter types' section")
    documented = set(re.findall(r"^\| `(\w+)` \|", section.group(1), re.M))
    used = {ty for c in calls for ty, _ in c[5]}
    missing = sorted(used - documented)
    if missing:
        sys.exit(f"abidoc: parameter types without a row in the types table: {', '.join(missing)}")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("doc")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    old = open(a.doc).read()
    calls = syscalls()
    check_types(old, calls)
    new = render(old, {"syscalls": syscall_table(calls), "errors": error_table(errors())})
    if a.check:
        if new != old:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), a.doc, "generated"))
            sys.exit(f"abidoc: {a.doc} is out of date with the .def files: run `make abi-doc`")
        return
    if new != old:
        open(a.doc, "w").write(new)

if __name__ == "__main__":
    main()
