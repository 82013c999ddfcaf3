"""py-spy on a running server: record its stacks during one measurement, then summarise.

`record()` starts `py-spy record --format raw --function` on the server's process (and its
worker subprocesses) for a number of seconds; the file holds collapsed stacks (one line
per distinct stack, `frame;frame;... count`), which flamegraph.pl and speedscope read as
they are. `summary()` turns it into a top-style text: where the samples are by package of
the innermost frame, the functions with the most own samples, and those with the most
samples anywhere on their stack. py-spy skips idle threads by default, so the shares are
of the time the server was on the CPU. py-spy comes with the `bench` extra
(`pip install -e '.[bench]'`; `make bench` installs it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

MISSING = "py-spy is missing: .venv/bin/pip install -e '.[bench]' (make bench installs it)"
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
_PROJECT = ("core", "members", "rewards", "game", "engage", "gql", "server")


def executable() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def record(pid: int, seconds: float, output: Path, rate: int = 100) -> subprocess.Popen[bytes]:
    """Start recording pid (and its subprocesses) for `seconds`; wait on the result."""
    spy = executable()
    if spy is None:
        raise RuntimeError(MISSING)
    command = [
        spy,
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--function",
        "--format",
        "raw",
        "--rate",
        str(rate),
        "--duration",
        str(max(1, round(seconds))),
        "--output",
        str(output),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish(process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    _, errors = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"py-spy failed: {errors.decode(errors='replace')}")


def _area(file: str) -> str:
    """Which package a frame's file belongs to: the project's areas, or a library."""
    path = file.replace("\\", "/")
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    top = path.split("/", 1)[0]
    if top in _PROJECT:
        return f"project: {top}/"
    if top.endswith(".py"):
        return f"stdlib: {top}"
    return top if "/" in path else path


def _frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for raw in stack.split(";"):
        if raw.startswith("process ") or raw.startswith("thread "):
            continue  # py-spy's --subprocesses / --threads markers
        match = _FRAME.match(raw)
        if match:
            out.append((match.group("function"), match.group("file")))
        else:
            out.append((raw, ""))
    return out


def summary(path: Path, top: int = 15) -> str:
    """A top-style text summary of a raw (collapsed) py-spy file."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        if not frames:
            continue
        total += count
        function, file = frames[-1]
        own[f"{function} ({file})"] += count
        areas[_area(file)] += count
        for name in {f"{f} ({p})" for f, p in frames}:
            anywhere[name] += count
    if not total:
        return "no samples (was the server busy?)"

    def share(n: int) -> str:
        return f"{100 * n / total:5.1f}%"

    lines = [f"{total} samples on the CPU", "", "by package of the innermost frame:"]
    lines += [f"  {share(n)}  {name}" for name, n in areas.most_common(top)]
    lines += ["", "most own samples (innermost frame):"]
    lines += [f"  {share(n)}  {name}" for name, n in own.most_common(top)]
    lines += ["", "most samples anywhere on the stack (project functions):"]
    project = [
        (name, n)
        for name, n in anywhere.most_common()
        if name.rsplit("(", 1)[-1].split("/", 1)[0] in _PROJECT and n < total  # not main()
    ]
    lines += [f"  {share(n)}  {name}" for name, n in project[:top]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(Path(sys.argv[1])))
