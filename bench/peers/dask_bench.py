"""Peer script of `npm run bench -- dask`: lowrank on Dask vs dask.array.linalg.svd_compressed on the
same .npy shards and the same LocalCluster.

usage: python3 dask_bench.py CONFIG_JSON   (prints one JSON result line on stdout; progress on stderr)

config: {data, rows, cols, shards, k, qs, workers, seed, lowrank_cli, repo}
The data (rank 50, singular values log-spaced 100 .. 10, plus N(0, 0.01^2) noise, f32) is written in
dask's npy-stack layout (0.npy, 1.npy, ..., info) so that da.from_npy_stack reads the very same files
lazily (memory-mapped per task) as the lowrank steps do.
"""

import json
import os
import pickle
import sys
import time

import numpy as np


def log(msg):
    print(f"[dask-bench] {msg}", file=sys.stderr, flush=True)


def make_data(cfg):
    d, m, n, s_count = cfg["data"], cfg["rows"], cfg["cols"], cfg["shards"]
    rows = m // s_count
    info = os.path.join(d, "info")
    if os.path.exists(info):
        with open(info, "rb") as f:
            meta = pickle.load(f)
        if meta.get("shape") == (m, n):
            return [os.path.join(d, f"{i}.npy") for i in range(s_count)]
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(cfg["seed"])
    r = 50
    s = np.logspace(2, 1, r)
    V, _ = np.linalg.qr(rng.standard_normal((n, r)))
    SVt = (s[:, None] * V.T).astype(np.float64)
    paths = []
    for i in range(s_count):
        # U's rows: Gaussian / sqrt(m) (orthonormal columns up to O(sqrt(r / m)))
        Ui = rng.standard_normal((rows, r)) / np.sqrt(m)
        Ai = (Ui @ SVt + 0.01 * rng.standard_normal((rows, n))).astype(np.float32)
        p = os.path.join(d, f"{i}.npy")
        np.save(p, Ai)
        paths.append(p)
    with open(info, "wb") as f:
        pickle.dump({"chunks": ((rows,) * s_count, (n,)), "dtype": np.dtype(np.float32), "axis": 0, "shape": (m, n)}, f)
    return paths


def exact_spectrum(paths, n):
    G = np.zeros((n, n))
    for p in paths:
        a = np.load(p).astype(np.float64)
        G += a.T @ a
    w = np.linalg.eigvalsh(G)[::-1]
    return np.sqrt(np.maximum(w, 0)), float(np.trace(G))


def residual(paths, U, S, V):
    tot, r0 = 0.0, 0
    for p in paths:
        a = np.load(p).astype(np.float64)
        u = np.asarray(U[r0 : r0 + a.shape[0]], dtype=np.float64)
        tot += float(np.sum((a - (u * S) @ V.T) ** 2))
        r0 += a.shape[0]
    return np.sqrt(tot)


def outgoing(client):
    return sum(client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total).values())


def main():
    cfg = json.load(open(sys.argv[1]))
    sys.path.insert(0, os.path.join(cfg["repo"], "integrations", "dask"))
    os.environ["LOWRANK_CLI"] = cfg["lowrank_cli"]
    import dask
    import dask.array as da
    import distributed
    from dask.distributed import Client, LocalCluster

    import lowrank_dask as lrd

    t = time.perf_counter()
    paths = make_data(cfg)
    log(f"data ready in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    sv, fro2 = exact_spectrum(paths, cfg["cols"])
    k = cfg["k"]
    tau = float(np.sqrt(max(fro2 - np.sum(sv[:k] ** 2), 0)))
    log(f"exact spectrum (f64 Gram) in {time.perf_counter() - t:.1f} s; tau_(k+1) = {tau:.4f}")
    one_thread = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LOWRANK_THREADS": "1"}
    out = {
        "versions": {"dask": dask.__version__, "distributed": distributed.__version__, "numpy": np.__version__},
        "tau": tau,
        "sv": sv[: k + 1].tolist(),
        "runs": [],
        "workers": cfg["workers"],
        "threads_per_worker": 1,
    }
    with LocalCluster(
        n_workers=cfg["workers"], threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, env=one_thread
    ) as cluster, Client(cluster) as client:
        def score(U, S, V):
            err = residual(paths, U, S, V)
            return {"froRatio": err / tau, "maxSvRelErr": float(np.max(np.abs(S[:k] - sv[:k]) / sv[:k]))}

        for q in cfg["qs"]:
            for rep, seed in enumerate(cfg.get("seeds", [0])):
                # lowrank on Dask (the multi-pass route: the same algorithm as svd_compressed(iterator='QR'))
                b0 = outgoing(client)
                t = time.perf_counter()
                res = lrd.svd(paths, k, q=q, oversample=10, seed=seed, client=client)
                secs = time.perf_counter() - t
                moved = outgoing(client) - b0
                sc = score(res.U, res.S, res.V)
                out["runs"].append({"engine": "lowrank-dask", "q": q, "rep": rep, "seed": seed, "seconds": secs, "tasks": res.info["tasks"], "bytesWritten": res.info["bytes_written"], "bytesTransferred": moved, **sc})
                log(f"lowrank q={q} seed {seed}: {secs:.2f} s, ratio {sc['froRatio']:.6f}, {res.info['tasks']} tasks")
                # dask.array svd_compressed on the same files
                a = da.from_npy_stack(cfg["data"])
                b0 = outgoing(client)
                t = time.perf_counter()
                u, s, v = da.linalg.svd_compressed(a, k=k, iterator="QR", n_power_iter=q, n_oversamples=10, seed=seed, compute=False)
                u, s, v = dask.compute(u, s, v)
                secs = time.perf_counter() - t
                moved = outgoing(client) - b0
                sc = score(u, s, v.T)
                out["runs"].append({"engine": "dask-svd_compressed", "q": q, "rep": rep, "seed": seed, "seconds": secs, "bytesTransferred": moved, **sc})
                log(f"svd_compressed q={q} seed {seed}: {secs:.2f} s, ratio {sc['froRatio']:.6f}")
        # single pass for reference
        b0 = outgoing(client)
        t = time.perf_counter()
        res = lrd.svd(paths, k, single_pass=True, seed=cfg["seed"], client=client)
        secs = time.perf_counter() - t
        sc = score(res.U, res.S, res.V)
        out["runs"].append({"engine": "lowrank-dask-single-pass", "q": None, "rep": 0, "seconds": secs, "tasks": res.info["tasks"], "bytesWritten": res.info["bytes_written"], "bytesTransferred": outgoing(client) - b0, "estimate": res.info["errorFro"] / tau, **sc})
        log(f"lowrank single pass: {secs:.2f} s, ratio {sc['froRatio']:.4f}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
