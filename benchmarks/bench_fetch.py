"""Benchmark: spectm's downloader vs earthaccess.download vs curl, on the same loopback server.

    .venv/bin/python benchmarks/bench_fetch.py [--files 8] [--mb 32] [--threads 4] [--repeat 3]

All three clients fetch the same N generated files from spectm's range-capable HTTP server
on 127.0.0.1 in one run (so they share its ceiling), with the same parallelism:

* ``spectm``      — :func:`spectm.fetch.download.download_all` (size check, resume, retries);
* ``earthaccess`` — ``earthaccess.download(urls, threads=N)`` 0.17, made to run offline by
  giving its ``Store`` an authenticated ``Auth`` and skipping its URS profile request
  and AWS-region probe (the download path itself is earthaccess's own);
* ``curl``        — ``curl --parallel --parallel-max N`` (one process, all files).

Throughput is the median of ``--repeat`` runs (fresh output directory each time).
Resume overhead: the download is killed (SIGKILL of a child process) once half of the
bytes are on disk, then run again; "wire bytes" is what the server sent over both runs
divided by the payload. spectm resumes partial files with Range requests; earthaccess
deletes its ``partial_*`` temp files and starts over; curl is run with ``-C -``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spectm.fetch.testserver import RangeServer  # noqa: E402


def make_files(root: Path, n: int, mb: int) -> list[str]:
    names = []
    block = os.urandom(1 << 20)
    for i in range(n):
        name = f"PACE_OCI.2024071{i % 10}T1{i:02d}000.L2.OC_AOP.V3_1.nc"
        with open(root / name, "wb") as f:
            for j in range(mb):
                f.write(block[j:] + block[:j])  # distinct content per MiB, cheap to make
        names.append(name)
    return names


# ------------------------------------------------------------------------------------ clients


def run_spectm(urls: list[str], out: Path, threads: int, sizes: list[int]) -> None:
    import requests

    from spectm.fetch.download import DownloadOptions, DownloadTask, download_all

    tasks = [DownloadTask(u, out / u.rsplit("/", 1)[1], s) for u, s in zip(urls, sizes, strict=True)]
    rep = download_all(tasks, requests.Session, DownloadOptions(threads=threads, retries=3))
    bad = [o for o in rep.outcomes if o.status == "failed"]
    if bad:
        raise SystemExit(f"spectm failed: {bad[0].reason}")


def run_earthaccess(urls: list[str], out: Path, threads: int, sizes: list[int]) -> None:
    import earthaccess
    from earthaccess.auth import Auth
    from earthaccess.store import Store

    auth = Auth()
    auth.token = {"access_token": "benchmark-token"}
    auth.authenticated = True
    Store.set_requests_session = lambda self, url, method="get": setattr(  # type: ignore[method-assign]
        self, "_http_session", self.auth.get_session()
    )
    Store._running_in_us_west_2 = lambda self: False  # type: ignore[method-assign]
    earthaccess.__store__ = Store(auth)
    files = earthaccess.download(urls, local_path=str(out), threads=threads, show_progress=False)
    if len(files) != len(urls):
        raise SystemExit(f"earthaccess returned {len(files)} of {len(urls)} files")


def curl_cmd(urls: list[str], out: Path, threads: int, resume: bool = False) -> list[str]:
    # -f would turn the 416 that a complete file gets on "-C -" into an error: not in resume mode
    cmd = [
        "curl",
        "-s",
        "--no-progress-meter",
        *([] if resume else ["-f"]),
        "--parallel",
        "--parallel-max",
        str(threads),
    ]
    for u in urls:
        cmd += (["-C", "-"] if resume else []) + ["-o", str(out / u.rsplit("/", 1)[1]), u]
    return cmd


def run_curl(urls: list[str], out: Path, threads: int, sizes: list[int], resume: bool = False) -> None:
    subprocess.run(curl_cmd(urls, out, threads, resume), check=True)


CLIENTS = {"spectm": run_spectm, "earthaccess": run_earthaccess, "curl": run_curl}


def _child(name: str, urls: list[str], out: str, threads: int, sizes: list[int], q: mp.Queue | None = None) -> None:
    import logging

    logging.disable(logging.CRITICAL)
    import earthaccess  # noqa: F401  (imports outside the timed section, for both Python clients)
    import requests  # noqa: F401

    import spectm.fetch.download  # noqa: F401

    t0 = time.perf_counter()
    CLIENTS[name](urls, Path(out), threads, sizes)
    if q is not None:
        q.put(time.perf_counter() - t0)


def timed(name: str, urls: list[str], out: Path, threads: int, sizes: list[int]) -> float:
    """Run one client in a fresh process and time its transfers (Python imports excluded;
    curl's time includes its process start, a few ms)."""
    out.mkdir(parents=True, exist_ok=True)
    if name == "curl":
        t0 = time.perf_counter()
        run_curl(urls, out, threads, sizes)
        dt = time.perf_counter() - t0
    else:
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        p = ctx.Process(target=_child, args=(name, urls, str(out), threads, sizes, q))
        p.start()
        p.join()
        if p.exitcode != 0:
            raise SystemExit(f"{name} failed (exit {p.exitcode})")
        dt = q.get(timeout=5)
    for u, s in zip(urls, sizes, strict=True):
        f = out / u.rsplit("/", 1)[1]
        if f.stat().st_size != s:
            raise SystemExit(f"{name}: {f.name} has {f.stat().st_size} bytes, expected {s}")
    return dt


def _disk_bytes(d: Path) -> int:
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file()) if d.exists() else 0


def resume_overhead(
    name: str, srv: RangeServer, urls: list[str], out: Path, threads: int, sizes: list[int]
) -> tuple[float, float]:
    """Kill at ~50 % of bytes on disk, rerun; return (wire bytes / payload, seconds of the rerun)."""
    total = sum(sizes)
    out.mkdir(parents=True, exist_ok=True)
    n0 = len(srv.state.log)
    if name == "curl":
        proc: subprocess.Popen | mp.Process = subprocess.Popen(curl_cmd(urls, out, threads))
    else:
        proc = mp.get_context("spawn").Process(target=_child, args=(name, urls, str(out), threads, sizes))
        proc.start()
    deadline = time.monotonic() + 120
    while _disk_bytes(out) < total / 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    if isinstance(proc, subprocess.Popen):
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    else:
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
    time.sleep(0.2)
    t0 = time.perf_counter()
    if name == "curl":
        subprocess.run(curl_cmd(urls, out, threads, resume=True), check=False)
    else:
        p = mp.get_context("spawn").Process(target=_child, args=(name, urls, str(out), threads, sizes))
        p.start()
        p.join()
    dt = time.perf_counter() - t0
    for u, s in zip(urls, sizes, strict=True):
        if (out / u.rsplit("/", 1)[1]).stat().st_size != s:
            raise SystemExit(f"{name}: incomplete after resume")
    time.sleep(0.2)
    wire = sum(r.sent for r in srv.state.log[n0:] if r.method == "GET")
    return wire / total, dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--mb", type=int, default=32)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--resume-rate-mbps", type=float, default=200.0, help="per-connection cap (MB/s) during the kill/resume test"
    )
    args = ap.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("curl is not installed (apt-get install curl)")

    work = Path(tempfile.mkdtemp(prefix="spectm-bench-fetch-"))
    try:
        src = work / "srv"
        src.mkdir()
        names = make_files(src, args.files, args.mb)
        sizes = [(src / n).stat().st_size for n in names]
        total = sum(sizes)
        with RangeServer(src) as srv:
            urls = [srv.url_for(n) for n in names]
            times: dict[str, list[float]] = {k: [] for k in CLIENTS}
            for r in range(args.repeat):
                for name in CLIENTS:  # interleaved, so load changes hit every client alike
                    d = work / f"{name}-{r}"
                    times[name].append(timed(name, urls, d, args.threads, sizes))
                    shutil.rmtree(d)
            srv.state.rate_bps = args.resume_rate_mbps * 1e6
            resume = {
                name: resume_overhead(name, srv, urls, work / f"resume-{name}", args.threads, sizes) for name in CLIENTS
            }

        curl_med = statistics.median(times["curl"])
        print(
            f"\n{args.files} files x {args.mb} MiB = {total / 1e6:,.0f} MB, {args.threads} parallel transfers, "
            f"loopback server, median of {args.repeat} runs; python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n"
        )
        print("| client | median s | min s | MB/s | vs curl | wire bytes after kill at 50 % + rerun |")
        print("|---|---:|---:|---:|---:|---:|")
        for name in CLIENTS:
            med = statistics.median(times[name])
            print(
                f"| {name} | {med:.2f} | {min(times[name]):.2f} | {total / 1e6 / med:,.0f} | {curl_med / med:.0%} | "
                f"{resume[name][0]:.2f}x |"
            )
        print(f"\n(resume test at {args.resume_rate_mbps:g} MB/s per connection; 1.00x = no byte sent twice)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
