#!/usr/bin/env python3
"""Peak memory of `mongrate validate` on large or hostile spec files (issue: memory bounded at
under ~20x the input size and under 512 MB for any file up to 50 MB).

    python3 scripts/bench_memory.py [--binary target/release/mongrate]

Generates each file in a temporary folder, runs `validate` under /usr/bin/time -v, and prints
the file size, peak RSS, the ratio, the wall time and the first line mongrate printed.
"""

import argparse
import os
import subprocess
import sys
import tempfile

CASES = {
    "1M plain fields (28 MB)": lambda: ["fields:"] + [f"  f{i}: {{ type: string }}" for i in range(1_000_000)],
    "1.8M plain fields, no validator (51 MB)": lambda: ["validation: { enabled: false }", "fields:"]
    + [f"  f{i}: {{ type: string }}" for i in range(1_800_000)],
    "100k nested objects with enums, bounds, defaults (14 MB)": lambda: ["fields:"]
    + [
        f"  o{i}:\n    type: object\n    fields:\n      a: {{ type: string, enum: [x, y, z], default: x }}\n      b: {{ type: int, minimum: 0, maximum: 10 }}"
        for i in range(100_000)
    ],
    "one enum of 2M values (33 MB)": lambda: ["fields:", "  e:", "    type: string", "    enum:"]
    + [f"      - v{i}" for i in range(2_000_000)],
    "300k fields with a bad type each (7 MB)": lambda: ["fields:"] + [f"  f{i}: {{ type: strng }}" for i in range(300_000)],
    "deep flow nesting (1 MB of [)": lambda: ["fields:", "  x: { type: any, default: " + "[" * 1_000_000 + " }"],
    "alias expansion (billion laughs)": lambda: ["fields:", "  a: { type: any, default: &a [x, x, x, x, x, x, x, x, x, x] }"]
    + [
        f"  l{i}: {{ type: any, default: &l{i} [" + ", ".join([f"*{'a' if i == 0 else f'l{i-1}'}"] * 10) + "] }"
        for i in range(9)
    ],
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="target/release/mongrate")
    a = ap.parse_args()
    if not os.path.exists(a.binary):
        subprocess.run(["cargo", "build", "--release", "--quiet"], check=True)
    print(f"{'case':58} {'size MB':>8} {'peak MB':>8} {'ratio':>6} {'time s':>7}  first line")
    with tempfile.TemporaryDirectory() as tmp:
        for name, lines in CASES.items():
            d = os.path.join(tmp, "case", "app")
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, "things.yaml")
            with open(path, "w") as f:
                f.write("\n".join(lines()) + "\n")
            size = os.path.getsize(path)
            r = subprocess.run(
                ["/usr/bin/time", "-f", "%M %e", a.binary, "validate", "--schemas", os.path.dirname(d)],
                capture_output=True, text=True,
            )
            peak_kb, secs = r.stderr.strip().splitlines()[-1].split()
            first = (r.stderr.strip().splitlines()[:-1] or r.stdout.splitlines() or [""])[0]
            first = first.replace(tmp, "")[:70]
            peak = int(peak_kb) / 1024
            print(f"{name:58} {size / 1e6:8.1f} {peak:8.0f} {peak * 1024 * 1024 / size:6.1f} {float(secs):7.2f}  {first}")
            os.remove(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
