"""Peer for `npm run bench -- compress`: PyTorch (Debian python3-torch) on the same safetensors file.

Reads the file's header by hand (no safetensors package here), maps each tensor with numpy.memmap
and times, per matrix: torch.linalg.svdvals, torch.linalg.svd(full_matrices=False) (what LORD and
EoRA need at their rank with the exact route), and torch.svd_lowrank(q=rank + 10, niter=2).

argv: file, threads, comma-separated tensor names, lord rank, repeats
stdout: one JSON object {"torch": version, "threads": n, "rows": [{"name", "svdvals", "svd", "svd_lowrank"}]}
(seconds, median of the repeats).
"""
import json
import struct
import sys
import time

import numpy as np
import torch


def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)), 8 + n


def tensor(path, meta, base, name):
    t = meta[name]
    if t["dtype"] != "F32":
        raise SystemExit(f"torch_compress.py: {name}: only F32 is read here, got {t['dtype']}")
    b, e = t["data_offsets"]
    rows = t["shape"][0]
    cols = int(np.prod(t["shape"][1:]))
    mm = np.memmap(path, dtype="<f4", mode="r", offset=base + b, shape=(rows, cols))
    return torch.from_numpy(np.array(mm))


def timed(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    path, threads, names, rank, repeats = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    meta, base = header(path)
    rows = []
    for name in names:
        W = tensor(path, meta, base, name)
        torch.manual_seed(0)
        rows.append(
            {
                "name": name,
                "svdvals": timed(lambda: torch.linalg.svdvals(W), repeats),
                "svd": timed(lambda: torch.linalg.svd(W, full_matrices=False), repeats),
                "svd_lowrank": timed(lambda: torch.svd_lowrank(W, q=min(rank + 10, min(W.shape)), niter=2), repeats),
            }
        )
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}))


if __name__ == "__main__":
    main()
