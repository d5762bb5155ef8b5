"""HTTP load: `wrk` when it is installed (Debian package `wrk`), else a small asyncio/httpx
generator. Both keep N connections busy with one POST for a while and report requests per
second and the median and 95th percentile latency."""

from __future__ import annotations

import asyncio
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from common import HarnessError


@dataclass(frozen=True)
class LoadResult:
    generator: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def wrk_path() -> str | None:
    return shutil.which("wrk")


def generator_name(choice: str) -> str:
    """`auto`: wrk when installed, else the Python generator."""
    if choice == "wrk" and wrk_path() is None:
        raise HarnessError("--load wrk, but wrk is not installed (apt-get install wrk)")
    if choice == "auto":
        return "wrk" if wrk_path() else "python"
    return choice


LUA = """wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %.0f %.0f %.0f %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


async def _wrk(url: str, body: str, token: str, connections: int, seconds: float) -> LoadResult:
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "post.lua"
        script.write_text(LUA.format(body=body, token=token), encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            wrk_path() or "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    text = out.decode()
    line = next((x for x in text.splitlines() if x.startswith("BENCH ")), None)
    if process.returncode != 0 or line is None:
        raise HarnessError(f"wrk failed ({process.returncode}): {text} {err.decode()}")
    requests, micros, p50, p95, status_errors, socket_errors = (float(x) for x in line.split()[1:])
    if status_errors or socket_errors:
        raise HarnessError(
            f"wrk: {status_errors:.0f} non-2xx answers, {socket_errors:.0f} socket errors "
            f"in {requests:.0f} requests to {url}"
        )
    return LoadResult("wrk", int(requests), micros / 1e6, p50 / 1000, p95 / 1000)


async def _python(url: str, body: str, token: str, connections: int, seconds: float) -> LoadResult:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    failures: list[int] = []
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - sent)
                if response.status_code != 200:
                    failures.append(response.status_code)

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    if failures:
        raise HarnessError(f"{len(failures)} answers not 200 (e.g. {failures[0]}) from {url}")
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return LoadResult("python", len(latencies), elapsed, cuts[49] * 1000, cuts[94] * 1000)


async def run(
    generator: str,
    url: str,
    body: str,
    token: str,
    *,
    connections: int,
    seconds: float,
    warmup: float,
) -> LoadResult:
    """A warm-up (discarded), then the measured load."""
    load = _wrk if generator == "wrk" else _python
    await load(url, body, token, connections, warmup)
    return await load(url, body, token, connections, seconds)
