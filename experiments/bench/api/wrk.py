"""wrk (the HTTP load generator, from Debian) driving one GET route over a rotation of SKUs, and its results.

A Lua script builds the requests (path prefix + SKU, rotating) with the given headers and, when done, prints one
JSON line with request count, errors and latency percentiles, so nothing depends on wrk's human-readable output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SCRIPT = """
local prefix = %(prefix)s
local skus = {%(skus)s}
local headers = {%(headers)s}
local i = 0
for k, v in pairs(headers) do wrk.headers[k] = v end

request = function()
  i = i + 1
  return wrk.format("GET", prefix .. skus[(i %% #skus) + 1])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, "write": %%d, '
    .. '"status": %%d, "timeout": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d, "mean_us": %%f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""

INSTALL_HINT = "wrk is not installed; install it with `make wrk` (Debian: apt-get install -y wrk)"


def _lua(text: str) -> str:
    return json.dumps(
        text, ensure_ascii=False
    )  # a JSON string literal is a valid Lua string literal for these characters


def script(prefix: str, skus: list[str], headers: dict[str, str]) -> str:
    """The Lua script requesting `prefix + sku` for each SKU in turn, with `headers`."""
    return SCRIPT % {
        "prefix": _lua(prefix),
        "skus": ", ".join(_lua(s) for s in skus),
        "headers": ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in headers.items()),
    }


def run(
    base_url: str, prefix: str, skus: list[str], headers: dict[str, str], duration: float, connections: int
) -> dict[str, Any]:
    """Drive `base_url` for `duration` seconds at `connections` connections (one wrk thread); the figures."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError(INSTALL_HINT)
    with tempfile.TemporaryDirectory() as tmp:
        lua = Path(tmp) / "bench.lua"
        lua.write_text(script(prefix, skus, headers))
        seconds = max(1, round(duration))
        command = [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua), base_url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    return parse(done.stdout, done.stderr, " ".join([*command[:-2], "bench.lua", base_url]))


def parse(stdout: str, stderr: str = "", command: str = "wrk") -> dict[str, Any]:
    """Requests/s, latency percentiles (ms) and errors from the output of the script's `done`."""
    line = next((ln for ln in stdout.splitlines() if ln.startswith("WRK_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"{command} printed no result: {(stderr or stdout).strip()[-500:]}")
    raw = json.loads(line.removeprefix("WRK_RESULT "))
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "errors": raw["status"] + socket_errors,
        "non_2xx_3xx": raw["status"],
        "socket_errors": socket_errors,
        "command": command,
    }
