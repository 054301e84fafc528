"""numpy peers for `npm run bench -- geometry`: the same formulas as lowrank's geometry toolkit.

Reads the inputs lowrank wrote (.npy, so both sides see the same numbers) and prints one JSON line.

  coding-rate FILE DTYPE EPS2 REPS     R(Z) = 1/2 logdet(I + a Z^T Z), a = d / (n eps2), and dR/dZ = a Z (I + a Z^T Z)^-1
                                       by Cholesky (the features Gram, n >= d)
  flag FILE RANK ITERS MODE            flag median by IRLS (Flag Aggregator): MODE 'reference' = the formula as the
                                       official code evaluates it (a weighted D x p SVD per iteration), MODE 'gram' =
                                       the same iteration on the p x p Gram (lowrank's route); 10 iterations at most,
                                       stop at the first non-decrease
  mnist X.npy Y.npy NTRAIN             scikit-learn on the same MNIST split: per-class PCA nearest subspace (30
                                       components, as the MCR^2 repo's evaluate.py) and KMeans(10, n_init 10);
                                       clustering accuracy by Hungarian matching, NMI
  ksubspaces FILE K DIM ITERS SEED     K-subspaces (assign by largest ||U_k^T x||, refit by top-d right singular
                                       vectors of each cluster), ITERS iterations from a random assignment
"""
import json
import sys
import time

import numpy as np


def timed(fn, reps):
    ts, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2], out


def coding_rate(path, dtype, eps2, reps):
    Z = np.load(path).astype(np.float32 if dtype == "f32" else np.float64)
    n, d = Z.shape
    a = d / (n * eps2)

    def run():
        M = np.eye(d, dtype=Z.dtype) + a * (Z.T @ Z)
        L = np.linalg.cholesky(M)
        value = np.sum(np.log(np.diag(L)))  # 1/2 logdet
        Linv = np.linalg.inv(L)  # triangular inverse (numpy has no solve_triangular; scipy's is used when present)
        grad = a * (Z @ (Linv.T @ Linv))
        return float(value), grad

    try:
        import scipy.linalg as sl

        def run():  # noqa: F811 (scipy's triangular solve when available)
            M = np.eye(d, dtype=Z.dtype) + a * (Z.T @ Z)
            L = np.linalg.cholesky(M)
            value = np.sum(np.log(np.diag(L)))
            Linv = sl.solve_triangular(L, np.eye(d, dtype=Z.dtype), lower=True)
            grad = a * (Z @ (Linv.T @ Linv))
            return float(value), grad

    except ImportError:
        pass
    run()  # warm-up
    t, (value, _) = timed(run, reps)
    return {"seconds": t, "value": value}


def flag(path, r, iters, mode, eps=1e-7, seed=1):
    G = np.load(path)
    D, p = G.shape
    t0 = time.perf_counter()
    Gh = G / np.linalg.norm(G, axis=0)
    rng = np.random.default_rng(seed)
    Y = np.linalg.qr(rng.random((D, r)).astype(G.dtype) - 0.5)[0][:, :r]
    if mode == "reference":
        obj = lambda Y: np.sum(np.sqrt(np.maximum(1 - np.sum((Y.T @ Gh) ** 2, 0), 0)))
        errs = [obj(Y)]
        for _ in range(iters):
            s2 = np.abs(1 - np.sum((Y.T @ Gh) ** 2, 0))
            w = (s2 + eps) ** (-0.25)
            Yn = np.linalg.svd(Gh * w, full_matrices=False)[0][:, :r]
            e = obj(Yn)
            if e >= errs[-1]:
                break
            Y, errs = Yn, errs + [e]
        agg = (Y @ (Y.T @ Gh)).sum(1) / r
    else:
        K = Gh.T @ Gh  # p x p
        C = Y.T @ Gh  # r x p: Y = Gh B after the first step
        obj = lambda C: np.sum(np.sqrt(np.maximum(1 - np.sum(C**2, 0), 0)))
        errs = [obj(C)]
        B = None
        for _ in range(iters):
            s2 = np.abs(1 - np.sum(C**2, 0))
            w = (s2 + eps) ** (-0.25)
            # left singular vectors of Gh W from the eigenvectors of W K W
            lam, V = np.linalg.eigh((w[:, None] * K) * w[None, :])
            idx = np.argsort(lam)[::-1][:r]
            Bn = (w[:, None] * V[:, idx]) / np.sqrt(np.maximum(lam[idx], 1e-300))
            Cn = (K @ Bn).T
            e = obj(Cn)
            if e >= errs[-1]:
                break
            B, C, errs = Bn, Cn, errs + [e]
        if B is not None:
            Y = Gh @ B
        agg = (Y @ (Y.T @ Gh)).sum(1) / r
    t = time.perf_counter() - t0
    return {"seconds": t, "iters": len(errs) - 1, "objective": [float(e) for e in errs], "aggregateNorm": float(np.linalg.norm(agg))}


def ksubspaces(path, K, dim, iters, seed):
    X = np.load(path)
    n, D = X.shape
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, K, n)
    t0 = time.perf_counter()
    for _ in range(iters):
        bases = []
        for k in range(K):
            Xk = X[labels == k]
            if Xk.shape[0] < dim:
                Xk = X[rng.choice(n, dim, replace=False)]
            _, _, Vt = np.linalg.svd(Xk, full_matrices=False)
            bases.append(Vt[:dim].T)
        U = np.hstack(bases)  # D x (K dim)
        P = (X @ U) ** 2
        scores = P.reshape(n, K, dim).sum(2)
        labels = scores.argmax(1)
    t = time.perf_counter() - t0
    return {"seconds": t, "perIteration": t / iters, "iters": iters}


def mnist(xfile, yfile, ntrain):
    import sklearn
    from scipy.optimize import linear_sum_assignment
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import normalized_mutual_info_score

    X = np.load(xfile).astype(np.float64)
    y = np.load(yfile).astype(np.int64).ravel()
    Xtr, ytr, Xte, yte = X[:ntrain], y[:ntrain], X[ntrain:], y[ntrain:]
    t0 = time.perf_counter()
    res = []
    for c in range(10):
        pca = PCA(n_components=30).fit(Xtr[ytr == c])
        Z = Xte - pca.mean_
        P = Z @ pca.components_.T @ pca.components_
        res.append(np.linalg.norm(Z - P, axis=1))
    pred = np.argmin(np.stack(res, 1), 1)
    t_ns = time.perf_counter() - t0
    t0 = time.perf_counter()
    km = KMeans(n_clusters=10, n_init=10, random_state=0).fit(X)
    t_km = time.perf_counter() - t0
    C = np.zeros((10, 10))
    for a, b in zip(km.labels_, y):
        C[a, b] += 1
    r, c = linear_sum_assignment(-C)
    return {
        "sklearn": sklearn.__version__,
        "nearestSubspaceAccuracy": float(np.mean(pred == yte)),
        "nearestSubspaceSeconds": t_ns,
        "kmeansAccuracy": float(C[r, c].sum() / len(y)),
        "kmeansNmi": float(normalized_mutual_info_score(y, km.labels_)),
        "kmeansSeconds": t_km,
    }


def main():
    cmd = sys.argv[1]
    if cmd == "coding-rate":
        out = coding_rate(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "flag":
        out = flag(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif cmd == "mnist":
        out = mnist(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "ksubspaces":
        out = ksubspaces(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    else:
        raise SystemExit(f"geometry_numpy.py: unknown command {cmd}")
    out["numpy"] = np.__version__
    print(json.dumps(out))


if __name__ == "__main__":
    main()
