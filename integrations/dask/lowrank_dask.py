"""lowrank on Dask: sharded randomized SVD / PCA and mergeable covariance.

Each step is one ``lowrank`` command-line invocation on one shard (a ``.npy`` file of consecutive rows)
or on a few small part folders, submitted as a Dask task; only part folders and tiny JSON summaries
move between tasks.  Dask does the scheduling, the retries (``retries=``) and the rescheduling of work
lost with a worker; every step overwrites its own output folder, so a re-run task is harmless.

    from dask.distributed import Client
    import lowrank_dask as lrd
    client = Client("tcp://scheduler:8786")
    res = lrd.svd(["/data/A-000.npy", "/data/A-001.npy", ...], k=50, q=2, client=client,
                  workdir="/shared/tmp/run1")
    res.U, res.S, res.V, res.info

Requirements on every worker: Node.js >= 20.17 and the ``lowrank`` package (``lowrank`` on PATH, or
``LOWRANK_CLI`` / ``lowrank=[...]`` naming the command), numpy (Dask needs it anyway), and the shards
and ``workdir`` on storage every worker and the client can read and write (a shared file system).

Routes:
  * ``svd(..., q=Q)`` (default q=2): the multi-pass randomized SVD (HMT subspace iteration with QR
    after every product, TSQR across shards), 2q + 2 passes over the data, the same answer as the
    in-memory ``lowrank.rsvd`` with the same q, oversampling and seed.
  * ``svd(..., single_pass=True)``: the single-pass sketch of Tropp et al. (one pass, mergeable parts,
    an a-posteriori error estimate); less accurate, for data that can be read only once.
  * ``covariance(...)``: counts, means and centered scatter per shard, merged pairwise; covariance,
    means and X^T X.

No part of this module computes linear algebra itself: numpy only reads the results.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

__all__ = ["svd", "covariance", "LowrankStepError", "SvdResult", "CovarianceResult", "lowrank_command"]


class LowrankStepError(RuntimeError):
    """A lowrank step failed; the message names the step and the shard or parts it ran on."""


def lowrank_command(lowrank: Optional[Sequence[str]] = None) -> list:
    """The command that runs the CLI: ``lowrank`` argument, else $LOWRANK_CLI, else ``lowrank`` on PATH."""
    if lowrank:
        return list(lowrank)
    env = os.environ.get("LOWRANK_CLI")
    if env:
        return shlex.split(env)
    exe = shutil.which("lowrank")
    if exe:
        return [exe]
    raise LowrankStepError("the lowrank command is not on PATH: install the npm package lowrank, or set LOWRANK_CLI / pass lowrank=[...]")


_local = threading.local()


def _server(cmd: list) -> subprocess.Popen:
    """This worker thread's ``lowrank serve`` process (started on first use, restarted if it died)."""
    srv = getattr(_local, "server", None)
    if srv is None or srv.poll() is not None or getattr(_local, "cmd", None) != cmd:
        srv = subprocess.Popen(
            cmd + ["serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env={**os.environ, "LOWRANK_PROGRESS": "0"},
        )
        _local.server, _local.cmd = srv, cmd
    return srv


def _invoke(cmd: list, argv: list, persistent: bool) -> tuple:
    if persistent:
        srv = _server(cmd)
        try:
            srv.stdin.write(json.dumps({"argv": argv}) + "\n")
            srv.stdin.flush()
            line = srv.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if line:
            r = json.loads(line)
            return r["code"], r["stdout"], r["stderr"]
        srv.kill()
        _local.server = None
        return 1, "", f"the lowrank serve process ended unexpectedly (exit code {srv.wait()})"
    p = subprocess.run(cmd + argv, capture_output=True, text=True, env={**os.environ, "LOWRANK_PROGRESS": "0"})
    return p.returncode, p.stdout, p.stderr


def _run_step(cmd: list, argv: list, what: str, persistent: bool, *deps: Any) -> dict:
    """One CLI step (runs on a worker). ``deps`` only order the task after the ones it reads from."""
    code, stdout, stderr = _invoke(cmd, argv + ["--json"], persistent)
    if code != 0:
        lines = [l for l in stderr.splitlines() if l.strip() and not l.startswith("Warning:")]
        msg = lines[-1] if lines else f"exit code {code}"
        step = " ".join(argv[:2]) if argv[0] == "pass" else argv[0]
        raise LowrankStepError(f"lowrank {step} failed on {what}: {msg}")
    try:
        return json.loads(stdout) if stdout.strip() else {}
    except ValueError as e:
        raise LowrankStepError(f"lowrank {argv[0]} on {what}: the --json summary is not JSON ({e}): {stdout[:200]!r}")


def _npy_shape(path: str) -> tuple:
    shape = np.load(path, mmap_mode="r").shape
    if len(shape) != 2:
        raise LowrankStepError(f"{path}: a shard must be a 2-D array, this one has shape {shape}")
    return tuple(int(s) for s in shape)


def _dir_bytes(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


@dataclass
class _Run:
    client: Any
    cmd: list
    workdir: str
    backend: str
    retries: int
    persistent: bool = True
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    tasks: int = 0
    futures: list = field(default_factory=list)

    def home(self, i: int) -> Optional[list]:
        """The worker that shard i's steps prefer (its `lowrank serve` keeps the shard loaded); others may take over."""
        if not self.persistent:
            return None
        if not hasattr(self, "_workers"):
            self._workers = sorted(self.client.scheduler_info()["workers"])
        return [self._workers[i % len(self._workers)]] if self._workers else None

    def submit(self, key: str, argv: list, what: str, *deps: Any, shard: Optional[int] = None) -> Any:
        self.tasks += 1
        argv = argv + ["--backend", self.backend]
        where = self.home(shard) if shard is not None else None
        fut = self.client.submit(
            _run_step, self.cmd, argv, what, self.persistent, *deps,
            key=f"lowrank-{key}-{self.token}", pure=False, retries=self.retries,
            workers=where, allow_other_workers=where is not None,
        )
        self.futures.append(fut)
        return fut

    def cancel(self) -> None:
        """Cancels what is still queued or running (after a failure, before the work folder goes)."""
        self.client.cancel(self.futures)

    def tree_merge(self, label: str, parts: list, dirs: list, fan_in: int) -> tuple:
        """Merges part folders in a tree of fan-in ``fan_in``; returns (future, folder) of the root."""
        level = 0
        while len(parts) > 1:
            nxt, nxt_dirs = [], []
            for g in range(0, len(parts), fan_in):
                grp, grp_dirs = parts[g : g + fan_in], dirs[g : g + fan_in]
                if len(grp) == 1:
                    nxt.append(grp[0])
                    nxt_dirs.append(grp_dirs[0])
                    continue
                out = os.path.join(self.workdir, f"{label}-merge-{level}-{g // fan_in}")
                nxt.append(self.submit(f"{label}-merge-{level}-{g // fan_in}", ["merge", *grp_dirs, "--out", out], f"parts {', '.join(map(os.path.basename, grp_dirs))}", *grp))
                nxt_dirs.append(out)
            parts, dirs = nxt, nxt_dirs
            level += 1
        return parts[0], dirs[0]


def _shards(shards: Any, workdir: str, client: Any) -> list:
    """Paths of the shard files; a dask array is written as row-block .npy files first."""
    if isinstance(shards, (str, os.PathLike)):
        raise TypeError("svd/covariance: 'shards' must be a list of .npy paths or a 2-D dask array, not one path")
    if hasattr(shards, "chunks") and hasattr(shards, "ndim"):
        import dask.array as da

        if shards.ndim != 2:
            raise ValueError(f"svd/covariance: the dask array must be 2-D, got ndim {shards.ndim}")
        d = os.path.join(workdir, "shards")
        da.to_npy_stack(d, shards.rechunk({1: -1}), axis=0)
        n = len(shards.rechunk({1: -1}).chunks[0])
        return [os.path.join(d, f"{i}.npy") for i in range(n)]
    paths = [os.path.abspath(os.fspath(p)) for p in shards]
    if not paths:
        raise ValueError("svd/covariance: no shards given")
    return paths


def _layout(client: Any, paths: list) -> tuple:
    shapes = client.gather(client.map(_npy_shape, paths, pure=False))
    cols = {s[1] for s in shapes}
    if len(cols) != 1:
        detail = ", ".join(f"{os.path.basename(p)}: {s[1]}" for p, s in zip(paths, shapes))
        raise ValueError(f"svd/covariance: the shards have different column counts ({detail})")
    offsets = np.concatenate([[0], np.cumsum([s[0] for s in shapes])]).astype(int).tolist()
    return shapes, offsets, cols.pop()


@dataclass
class SvdResult:
    """U (m x k, or the list of row-block files with ``assemble=False``), S (k), V (n x k), info."""

    U: Any
    S: np.ndarray
    V: np.ndarray
    info: dict


@dataclass
class CovarianceResult:
    covariance: np.ndarray
    mean: np.ndarray
    gram: np.ndarray
    count: int
    info: dict


def svd(
    shards: Any,
    k: int,
    q: int = 2,
    *,
    oversample: int = 10,
    seed: int = 0,
    single_pass: bool = False,
    client: Any = None,
    workdir: Optional[str] = None,
    lowrank: Optional[Sequence[str]] = None,
    backend: str = "native",
    fan_in: int = 8,
    retries: int = 0,
    persistent: bool = True,
    assemble: bool = True,
    on_stage: Optional[Callable[[str], None]] = None,
) -> SvdResult:
    """Rank-k randomized SVD of the matrix whose row blocks are ``shards`` (paths in row order, or a dask
    array), run as lowrank CLI steps on the Dask ``client`` (default: the current client).

    q: power iterations of the multi-pass route (ignored with ``single_pass=True``). oversample: p, the
    sketch has l = min(k + p, m, n) columns. seed: the Gaussian test matrix (``randn(n, l, seed)``, as
    the in-memory rsvd). workdir: shared folder for the part folders (default: a new temporary folder,
    removed afterwards unless ``assemble=False``). Signs: the largest entry of each column of V is
    positive (sklearn's svd_flip with u_based_decision=False).

    ``info``: route, passes, tasks, seconds, errorFro (multi-pass: exact, sqrt(||A||^2 - sum S^2);
    single pass: the a-posteriori estimate), normFro, bytes_written (part folders), workdir.
    """
    from dask.distributed import default_client

    t0 = time.perf_counter()
    client = client or default_client()
    cmd = lowrank_command(lowrank)
    own_dir = workdir is None
    workdir = os.path.abspath(workdir or tempfile.mkdtemp(prefix="lowrank-dask-"))
    os.makedirs(workdir, exist_ok=True)
    stage = on_stage or (lambda s: None)
    run = _Run(client, cmd, workdir, backend, retries, persistent)
    try:
        paths = _shards(shards, workdir, client)
        shapes, offsets, n = _layout(client, paths)
        m = offsets[-1]
        if not (1 <= k <= min(m, n)):
            raise ValueError(f"svd: k = {k} must be in 1 .. min(m, n) = {min(m, n)}")
        names = [os.path.basename(p) for p in paths]
        if single_pass:
            parts = []
            dirs = []
            for i, p in enumerate(paths):
                out = os.path.join(workdir, f"sketch-{i}")
                argv = ["sketch", p, "--row-offset", str(offsets[i]), "--rows-total", str(m), "--rank", str(k), "--seed", str(seed), "--out", out]
                parts.append(run.submit(f"sketch-{i}", argv, names[i], shard=i))
                dirs.append(out)
            stage("sketch")
            root, root_dir = run.tree_merge("sketch", parts, dirs, fan_in)
            res_dir = os.path.join(workdir, "result")
            fin = client.gather(run.submit("finish", ["finish", root_dir, "--out", res_dir], "the merged sketch", root))
            stage("finish")
            U = np.load(os.path.join(res_dir, "U.npy")) if assemble else [os.path.join(res_dir, "U.npy")]
            S = np.load(os.path.join(res_dir, "S.npy"))
            V = np.load(os.path.join(res_dir, "V.npy"))
            info = {
                "route": "single-pass",
                "passes": 1,
                "errorFro": fin.get("errorFro"),
                "normFro": fin.get("normFro"),
                "warning": (fin.get("warnings") or [None])[0],
                "merged": root_dir,
            }
        else:
            if q < 0:
                raise ValueError(f"svd: q = {q} must be >= 0")
            l = min(k + oversample, m, n)
            x_args = ["--seed", str(seed), "--size", str(l)]
            basis = None
            for it in range(q + 1):
                d = os.path.join(workdir, f"it{it}")
                ranges, range_dirs = [], []
                for i, p in enumerate(paths):
                    out = os.path.join(d, f"range-{i}")
                    deps = [basis] if basis is not None else []
                    argv = ["pass", "range", p, *x_args, "--row-offset", str(offsets[i]), "--out", out]
                    ranges.append(run.submit(f"it{it}-range-{i}", argv, names[i], *deps, shard=i))
                    range_dirs.append(out)
                tsqr_dir = os.path.join(d, "tsqr")
                tsqr = run.submit(f"it{it}-tsqr", ["pass", "tsqr", *range_dirs, "--out", tsqr_dir], f"iteration {it}'s range parts", *ranges)
                cors, cor_dirs = [], []
                for i, p in enumerate(paths):
                    out = os.path.join(d, f"corange-{i}")
                    argv = ["pass", "corange", p, "--range", range_dirs[i], "--tsqr", tsqr_dir, "--out", out]
                    cors.append(run.submit(f"it{it}-corange-{i}", argv, names[i], tsqr, shard=i))
                    cor_dirs.append(out)
                summ, sum_dir = run.tree_merge(f"it{it}-corange", cors, cor_dirs, fan_in)
                if it < q:
                    basis_dir = os.path.join(d, "basis")
                    basis = run.submit(f"it{it}-basis", ["pass", "basis", sum_dir, "--out", basis_dir], f"iteration {it}'s sum", summ)
                    x_args = ["--basis", basis_dir]
                stage(f"iteration {it} submitted")
            fin_dir = os.path.join(workdir, "finish")
            fin_f = run.submit("finish", ["finish", sum_dir, "--rank", str(k), "--out", fin_dir], "the last corange sum", summ)
            us, u_dirs = [], []
            for i in range(len(paths)):
                out = os.path.join(workdir, f"u-{i}")
                argv = ["pass", "u", "--range", range_dirs[i], "--tsqr", tsqr_dir, "--finish", fin_dir, "--out", out]
                us.append(run.submit(f"u-{i}", argv, names[i], fin_f, tsqr, shard=i))
                u_dirs.append(out)
            fin = client.gather(fin_f)
            client.gather(us)
            stage("finish")
            files = [os.path.join(u, "U.npy") for u in u_dirs]
            U = np.concatenate([np.load(f) for f in files]) if assemble else files
            S = np.load(os.path.join(fin_dir, "S.npy"))
            V = np.load(os.path.join(fin_dir, "V.npy"))
            info = {"route": "multi-pass", "passes": 2 * q + 2, "q": q, "size": l, "errorFro": fin.get("errorFro"), "normFro": fin.get("normFro")}
        info.update(
            {
                "rows": m,
                "cols": n,
                "shards": len(paths),
                "tasks": run.tasks,
                "bytes_written": _dir_bytes(workdir) - sum(os.path.getsize(p) for p in paths if p.startswith(workdir)),
                "seconds": time.perf_counter() - t0,
                "workdir": workdir,
            }
        )
        return SvdResult(U, S, V, info)
    except BaseException:
        run.cancel()
        raise
    finally:
        if own_dir and assemble:
            shutil.rmtree(workdir, ignore_errors=True)


def covariance(
    shards: Any,
    *,
    ddof: int = 1,
    client: Any = None,
    workdir: Optional[str] = None,
    lowrank: Optional[Sequence[str]] = None,
    backend: str = "native",
    fan_in: int = 8,
    retries: int = 0,
    persistent: bool = True,
) -> CovarianceResult:
    """Covariance (ddof 1 as numpy.cov), column means and X^T X of the rows of ``shards`` (rows =
    samples), one ``lowrank gram`` task per shard and a tree of ``lowrank merge``."""
    from dask.distributed import default_client

    t0 = time.perf_counter()
    client = client or default_client()
    cmd = lowrank_command(lowrank)
    own_dir = workdir is None
    workdir = os.path.abspath(workdir or tempfile.mkdtemp(prefix="lowrank-dask-"))
    os.makedirs(workdir, exist_ok=True)
    run = _Run(client, cmd, workdir, backend, retries, persistent)
    try:
        paths = _shards(shards, workdir, client)
        shapes, offsets, n = _layout(client, paths)
        parts, dirs = [], []
        for i, p in enumerate(paths):
            out = os.path.join(workdir, f"gram-{i}")
            parts.append(run.submit(f"gram-{i}", ["gram", p, "--row-offset", str(offsets[i]), "--out", out], os.path.basename(p), shard=i))
            dirs.append(out)
        root, root_dir = run.tree_merge("gram", parts, dirs, fan_in)
        res = os.path.join(workdir, "covariance")
        client.gather(run.submit("gram-finish", ["finish", root_dir, "--ddof", str(ddof), "--out", res], "the merged gram", root))
        out = CovarianceResult(
            covariance=np.load(os.path.join(res, "covariance.npy")),
            mean=np.load(os.path.join(res, "mean.npy")),
            gram=np.load(os.path.join(res, "gram.npy")),
            count=int(offsets[-1]),
            info={"tasks": run.tasks, "seconds": time.perf_counter() - t0, "shards": len(paths), "workdir": workdir},
        )
        return out
    except BaseException:
        run.cancel()
        raise
    finally:
        if own_dir:
            shutil.rmtree(workdir, ignore_errors=True)
