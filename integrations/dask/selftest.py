"""Runs lowrank_dask on a local Dask cluster and writes what the test suite checks (test/integrations/dask.test.ts).

usage: python3 selftest.py OUTDIR   (LOWRANK_CLI names the lowrank command)

Six shards of 5,000 x 400 f32 (a decaying spectrum plus noise) on LocalCluster(n_workers=3,
threads_per_worker=1, processes=True). Writes A.npy, the shards, and for each run U/S/V .npy files and
summary.json (timings, true errors, tau_{k+1}); the TypeScript test compares them with the in-memory
engine. Exit code 3 when Dask is not installed (the test skips, or fails with LOWRANK_REQUIRE_DASK=1).
"""

import json
import os
import subprocess
import sys
import threading
import time

try:
    import numpy as np
    from dask.distributed import Client, LocalCluster
except ImportError as e:  # pragma: no cover
    print(f"dask is not available: {e}", file=sys.stderr)
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lowrank_dask as lrd  # noqa: E402


def make_data(out, shards=6, rows=5000, n=400, seed=0):
    rng = np.random.default_rng(seed)
    m = shards * rows
    U, _ = np.linalg.qr(rng.standard_normal((m, 60)))
    V, _ = np.linalg.qr(rng.standard_normal((n, 60)))
    s = 100.0 * np.exp(-np.arange(60) / 6.0)
    A = ((U * s) @ V.T + 0.01 * rng.standard_normal((m, n)) + 3.0).astype(np.float32)  # + 3: non-zero means
    np.save(os.path.join(out, "A.npy"), A)
    paths = []
    for i in range(shards):
        p = os.path.join(out, f"shard-{i}.npy")
        np.save(p, A[i * rows : (i + 1) * rows])
        paths.append(p)
    return A, paths


def save(out, name, res):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "U.npy"), res.U)
    np.save(os.path.join(d, "S.npy"), res.S)
    np.save(os.path.join(d, "V.npy"), res.V)


def true_error(A, res):
    A64 = A.astype(np.float64)
    return float(np.linalg.norm(A64 - (res.U.astype(np.float64) * res.S) @ res.V.T.astype(np.float64)))


def main():
    out = os.path.abspath(sys.argv[1])
    os.makedirs(out, exist_ok=True)
    A, paths = make_data(out)
    sv = np.linalg.svd(A.astype(np.float64), compute_uv=False)
    k = 10
    summary = {"k": k, "tau": float(np.sqrt(np.sum(sv[k:] ** 2))), "sv": sv[: 2 * k].tolist()}
    t0 = time.perf_counter()
    with LocalCluster(n_workers=3, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster) as client:
        summary["cluster_seconds"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        sp = lrd.svd(paths, k, single_pass=True, seed=3, client=client, workdir=os.path.join(out, "work-single"), fan_in=2)
        save(out, "single", sp)
        # the same sketch in one process, for the merged == one-shot check
        one = os.path.join(out, "one-shot")
        subprocess.run(lrd.lowrank_command() + ["sketch", os.path.join(out, "A.npy"), "--row-offset", "0", "--rows-total", str(A.shape[0]), "--rank", str(k), "--seed", "3", "--backend", "native", "--out", one], check=True, capture_output=True)
        summary["single"] = {**sp.info, "trueErrorFro": true_error(A, sp)}

        mp = lrd.svd(paths, k, q=2, seed=5, client=client, workdir=os.path.join(out, "work-multi"))
        save(out, "multi", mp)
        summary["multi"] = {**mp.info, "trueErrorFro": true_error(A, mp)}

        cov = lrd.covariance(paths, client=client, workdir=os.path.join(out, "work-cov"))
        np.save(os.path.join(out, "cov.npy"), cov.covariance)
        np.save(os.path.join(out, "mean.npy"), cov.mean)
        np.save(os.path.join(out, "gram.npy"), cov.gram)
        summary["covariance"] = {**cov.info, "count": cov.count}

        # a dask array as input (written as row-block shards first), and a failing shard named in the error
        import dask.array as da

        cov2 = lrd.covariance(da.from_array(A, chunks=(12000, A.shape[1])), client=client)
        summary["daskArrayCovRelDiff"] = float(np.linalg.norm(cov2.covariance - cov.covariance) / np.linalg.norm(cov.covariance))
        bad = os.path.join(out, "shard-bad.npy")
        b = np.ones((50, A.shape[1]), dtype=np.float32)
        b[7, 3] = np.nan
        np.save(bad, b)
        try:
            lrd.svd([paths[0], bad], 5, q=0, client=client)
            summary["badShardError"] = None
        except lrd.LowrankStepError as e:
            summary["badShardError"] = str(e)

        # A worker killed mid-run: Dask reschedules its tasks; the answer must not change.
        pids = client.run(os.getpid)
        victim = sorted(pids)[0]
        killed = {"done": False}
        work = os.path.join(out, "work-kill")

        def killer():
            deadline = time.time() + 60
            while time.time() < deadline:
                if os.path.exists(os.path.join(work, "it1", "tsqr", "meta.json")):
                    os.kill(pids[victim], 9)
                    killed["done"] = True
                    return
                time.sleep(0.01)

        th = threading.Thread(target=killer)
        th.start()
        kp = lrd.svd(paths, k, q=2, seed=5, client=client, workdir=work)
        th.join()
        save(out, "killed", kp)
        summary["killed"] = {**kp.info, "workerKilled": killed["done"], "victim": victim}
        summary["total_seconds"] = time.perf_counter() - t1
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=str)
    print(json.dumps({"ok": True, "out": out}))


if __name__ == "__main__":
    main()
