#!/usr/bin/env python3
"""numpy / scipy worker for lowrank's benchmark harness (bench/peers/numpy.ts).

Reads one JSON request per line on stdin and answers one JSON line on stdout. The environment
(OPENBLAS_CORETYPE, OPENBLAS_NUM_THREADS) is fixed by the parent when it starts this process.

Timing policy (same as bench/lib/timing.ts): one warm-up call whose result is checked for accuracy,
then `iters = clamp(round(target / warm-up), min, max)` timed calls, shortened to stay inside the cap;
best and median are reported. When the warm-up alone exceeds the cap, that single cold run is reported.
"""
import ctypes
import json
import math
import os
import sys
import time

import numpy as np

try:
    import scipy
    import scipy.linalg as sla
except Exception:  # pragma: no cover - depends on the environment
    scipy = None
    sla = None


def blas_libs():
    """Every BLAS-like shared library loaded in this process, with OpenBLAS core name and threads."""
    out = []
    try:
        import threadpoolctl  # noqa: F401

        for x in threadpoolctl.threadpool_info():
            if x.get("user_api") == "blas":
                out.append(
                    {
                        "lib": x.get("filepath"),
                        "api": x.get("internal_api"),
                        "version": x.get("version"),
                        "corename": x.get("architecture"),
                        "threads": x.get("num_threads"),
                        "source": "threadpoolctl",
                    }
                )
        if out:
            return out
    except Exception:
        pass
    seen = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                if ".so" in p and ("blas" in p.lower() or "lapack" in p.lower()) and p not in seen:
                    seen.add(p)
    except OSError:
        pass
    for p in sorted(seen):
        e = {"lib": p, "source": "ctypes"}
        try:
            h = ctypes.CDLL(p)
        except OSError:
            out.append(e)
            continue
        for suffix in ("", "64_", "_64"):
            for pre in ("openblas_", "scipy_openblas_"):
                core = getattr(h, pre + "get_corename" + suffix, None)
                if core is not None and "corename" not in e:
                    core.restype = ctypes.c_char_p
                    e["corename"] = core().decode()
                cfg = getattr(h, pre + "get_config" + suffix, None)
                if cfg is not None and "version" not in e:
                    cfg.restype = ctypes.c_char_p
                    e["version"] = cfg().decode().strip()
                nt = getattr(h, pre + "get_num_threads" + suffix, None)
                if nt is not None and "threads" not in e:
                    nt.restype = ctypes.c_int
                    e["threads"] = nt()
        if "corename" in e or "version" in e:
            e["api"] = "openblas"
        out.append(e)
    return out


def info():
    return {
        "python": sys.executable,
        "pythonVersion": sys.version.split()[0],
        "numpy": np.__version__,
        "numpyPath": os.path.dirname(np.__file__),
        "scipy": getattr(scipy, "__version__", None),
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")},
        "blas": blas_libs(),
    }


def summarize(samples, warm, cold=False):
    s = sorted(samples)
    k = len(s)
    med = s[(k - 1) // 2] if k % 2 else 0.5 * (s[k // 2 - 1] + s[k // 2])
    r = {
        "bestMs": s[0],
        "medianMs": med,
        "meanMs": sum(s) / k,
        "n": k,
        "samplesMs": [round(x, 4) for x in samples],
        "warmupMs": round(warm, 4),
    }
    if cold:
        r["cold"] = True
    return r


def time_case(run, check, t):
    t0 = time.perf_counter()
    first = run()
    warm = (time.perf_counter() - t0) * 1e3
    acc = check(first)
    del first
    if warm >= t["capMs"]:
        return summarize([warm], warm, True), acc
    left = t["capMs"] - warm
    est = max(warm, 1e-3)
    iters = max(t["minIters"], min(t["maxIters"], round(t["targetMs"] / est)))
    iters = max(1, min(iters, math.floor(left / est)))
    samples = []
    cpu = []  # process CPU time per run (all threads), when t["cpu"] asks for it
    start = time.perf_counter()
    for _ in range(iters):
        c1 = time.process_time()
        t1 = time.perf_counter()
        run()
        samples.append((time.perf_counter() - t1) * 1e3)
        cpu.append((time.process_time() - c1) * 1e3)
        if (time.perf_counter() - start) * 1e3 > left:
            break
    res = summarize(samples, warm)
    if t.get("cpu"):
        res["cpuMs"] = [round(x, 4) for x in cpu]
    return res, acc


def fro(x):
    return float(np.linalg.norm(x))


def orth(x):
    x = np.asarray(x, dtype=np.float64)
    return fro(x.T @ x - np.eye(x.shape[1]))


_gemm_cache = {}


def gemm(req):
    """C = op(A) B, op(A) m x k, B k x n (square n x n when only n is given); transA: A is stored k x m.

    The inputs of the last shape are kept, so that interleaved rounds of one case do not regenerate them.
    """
    n = int(req["n"])
    m = int(req.get("m", n))
    kk = int(req.get("k", n))
    trans_a = bool(req.get("transA", False))
    dt = np.float32 if req.get("dtype", "f32") == "f32" else np.float64
    key = (m, kk, n, trans_a, np.dtype(dt).name)
    if key not in _gemm_cache:
        _gemm_cache.clear()
        rng = np.random.default_rng(1000 + n + 7 * m + 13 * kk)
        a = rng.standard_normal((kk, m) if trans_a else (m, kk), dtype=dt)
        b = rng.standard_normal((kk, n), dtype=dt)
        _gemm_cache[key] = (a, b, np.empty((m, n), dtype=dt))
    a, b, c = _gemm_cache[key]
    op_a = a.T if trans_a else a  # a transposed view: OpenBLAS gets the transpose flag, no copy

    def run():
        np.matmul(op_a, b, out=c)
        return c

    def check(cc):
        s = 7
        worst = 0.0
        for _ in range(20):
            s = (s * 1103515245 + 12345) % 4294967296
            i = s % m
            s = (s * 1103515245 + 12345) % 4294967296
            j = s % n
            p = op_a[i, :].astype(np.float64) * b[:, j].astype(np.float64)
            ref = p.sum()
            e = abs(float(cc[i, j]) - ref) / (np.abs(p).sum() or 1.0)
            worst = max(worst, e)
        return worst

    timing, err = time_case(run, check, req["timing"])
    what = "numpy.matmul(a%s, b, out=c) (%s)" % (".T" if trans_a else "", np.dtype(dt).name)
    return {"timing": timing, "relErr": err, "method": what}


def load_decomp(req):
    m, n = int(req["m"]), int(req["n"])
    raw = np.fromfile(req["file"], dtype="<f8")
    A = raw[: m * n].reshape(m, n)
    b = raw[m * n : m * n + m].reshape(m, 1)
    G = raw[m * n + m :].reshape(n, n)
    return m, n, A, b, G


def decomp(req):
    m, n, A64, b64, G64 = load_decomp(req)
    dt = np.float32 if req["dtype"] == "f32" else np.float64
    A = np.ascontiguousarray(A64.astype(dt))
    b = np.ascontiguousarray(b64.astype(dt))
    G = np.ascontiguousarray(G64.astype(dt))
    # accuracy is measured against the data the library actually saw (rounded to dtype), in f64
    Ar, br, Gr = A.astype(np.float64), b.astype(np.float64), G.astype(np.float64)
    op = req["op"]
    t = req["timing"]
    use_scipy = sla is not None

    if op == "qr":
        if use_scipy:
            run = lambda: sla.qr(A, mode="economic", check_finite=False)  # noqa: E731
            method = "scipy.linalg.qr(A, mode='economic') [geqrf + orgqr]"
        else:
            run = lambda: np.linalg.qr(A, mode="reduced")  # noqa: E731
            method = "numpy.linalg.qr(A, mode='reduced') [geqrf + orgqr]"

        def check(f):
            Q, R = (np.asarray(x, dtype=np.float64) for x in f)
            return {"resid": fro(Q @ R - Ar) / fro(Ar), "orth": orth(Q)}

    elif op == "svd":
        if use_scipy:
            run = lambda: sla.svd(A, full_matrices=False, lapack_driver="gesdd", check_finite=False)  # noqa: E731
            method = "scipy.linalg.svd(A, full_matrices=False, lapack_driver='gesdd')"
        else:
            run = lambda: np.linalg.svd(A, full_matrices=False)  # noqa: E731
            method = "numpy.linalg.svd(A, full_matrices=False) [gesdd]"

        def check(f):
            U, s, Vh = (np.asarray(x, dtype=np.float64) for x in f)
            return {"resid": fro((U * s) @ Vh - Ar) / fro(Ar), "orth": max(orth(U), orth(Vh.T))}

    elif op == "eigh":
        if use_scipy:
            run = lambda: sla.eigh(G, driver="evr", check_finite=False)  # noqa: E731
            method = "scipy.linalg.eigh(G, driver='evr') [syevr], G = A^T A"
        else:
            run = lambda: np.linalg.eigh(G)  # noqa: E731
            method = "numpy.linalg.eigh(G) [syevd], G = A^T A"

        def check(f):
            w, V = (np.asarray(x, dtype=np.float64) for x in f)
            return {"resid": fro(Gr @ V - V * w) / fro(Gr), "orth": orth(V)}

    elif op == "lstsq":
        if use_scipy:
            run = lambda: sla.lstsq(A, b, lapack_driver="gelsy", check_finite=False)  # noqa: E731
            method = "scipy.linalg.lstsq(A, b, lapack_driver='gelsy') [pivoted QR], b m x 1"
        else:
            run = lambda: np.linalg.lstsq(A, b, rcond=None)  # noqa: E731
            method = "numpy.linalg.lstsq(A, b) [gelsd], b m x 1"

        def check(f):
            x = np.asarray(f[0], dtype=np.float64)
            r = br - Ar @ x
            return {"resid": fro(Ar.T @ r) / (fro(Ar) * fro(r))}

    elif op == "lu":
        if not use_scipy:
            raise ValueError("lu needs scipy (scipy.linalg.lu)")
        run = lambda: sla.lu(A, permute_l=True, check_finite=False)  # noqa: E731
        method = "scipy.linalg.lu(A, permute_l=True) [getrf + permutation]"

        def check(f):
            PL, U = (np.asarray(x, dtype=np.float64) for x in f)
            return {"resid": fro(PL @ U - Ar) / fro(Ar)}

    else:
        raise ValueError("unknown op %r" % op)

    timing, acc = time_case(run, check, t)
    return {"timing": timing, "acc": acc, "method": method}


def rsvd(req):
    """sklearn.utils.extmath.randomized_svd on A (m x n, raw little-endian f64 in req['file'])."""
    from sklearn.utils.extmath import randomized_svd
    import sklearn

    m, n, k = int(req["m"]), int(req["n"]), int(req["k"])
    dt = np.float32 if req["dtype"] == "f32" else np.float64
    A = np.ascontiguousarray(np.fromfile(req["file"], dtype="<f8")[: m * n].reshape(m, n).astype(dt))
    Ar = A.astype(np.float64)
    opts = dict(n_components=k, n_oversamples=int(req.get("oversample", 10)), n_iter=req.get("nIter", "auto"),
                power_iteration_normalizer=req.get("normalizer", "auto"), random_state=int(req.get("seed", 0)))

    def run():
        return randomized_svd(A, **opts)

    def check(f):
        U, s, Vt = (np.asarray(x, dtype=np.float64) for x in f)
        return {"residFro": fro(Ar - (U * s) @ Vt), "orth": max(orth(U), orth(Vt.T)), "s": [float(x) for x in s]}

    timing, acc = time_case(run, check, req["timing"])
    return {"timing": timing, "acc": acc, "method": "sklearn %s randomized_svd(%s)" % (sklearn.__version__, ", ".join("%s=%r" % kv for kv in opts.items() if kv[0] != "random_state"))}


def main():
    handlers = {"info": lambda r: info(), "gemm": gemm, "decomp": decomp, "rsvd": rsvd}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            if req.get("cmd") == "exit":
                break
            res = handlers[req["cmd"]](req)
            out = {"ok": True, "result": res}
        except Exception as e:  # report, keep serving
            out = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
