// Per-segment Gram matrices for alternating least squares on a sparsity pattern (matrix completion).
// A segment is a row of S (CSR: ptr, idx = column indices) or a column (CSC: ptr, idx = row indices);
// its design matrix is A_j = F[idx[t], :] for t in [ptr[j], ptr[j + 1]). One workgroup per segment, so
// every output element has exactly one writer (no atomics).
//   seg_gram  out[j] = A_j^T A_j (k x k, row-major, both triangles), or with SKETCH the Gram of a
//             balanced CountSketch: s = min(len, P.srows) buckets, bucket r = sum over the permuted
//             entries r, r + s, ... of sign * F row (order[ptr[j] + t] = position, or
//             -(position + 1) for sign -1).
//             Rows of A_j (or buckets) are staged CH at a time in workgroup memory; each invocation
//             accumulates up to PPT entries of the k x k output, in blocks of 256 * PPT entries.
//   seg_diag  out[j] = diag(A_j^T A_j) (k values).

override SKETCH: bool = false;
const PPT: u32 = 8u;
const TILE: u32 = 2048u;

struct Params { segs: u32, k: u32, srows: u32, ch: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> ptr: array<u32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<i32>;
@group(0) @binding(4) var<storage, read> F: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

var<workgroup> tile: array<f32, TILE>;
var<workgroup> wlen: u32;
var<workgroup> wbeg: u32;

fn linear_wg(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wg.x + wg.y * nwg.x;
}

@compute @workgroup_size(256)
fn seg_gram(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
  let j = linear_wg(wg, nwg);
  if (j >= P.segs) {
    return; // uniform: the whole workgroup leaves
  }
  if (li == 0u) {
    wbeg = ptr[j];
    wlen = ptr[j + 1u] - ptr[j];
  }
  let len = workgroupUniformLoad(&wlen);
  let b = wbeg;
  let k = P.k;
  let kk = k * k;
  var s = len;
  if (SKETCH) {
    s = min(len, P.srows);
  }
  for (var pb = 0u; pb < kk; pb = pb + 256u * PPT) {
    var acc: array<f32, PPT>;
    for (var r = 0u; r < PPT; r = r + 1u) {
      acc[r] = 0.0;
    }
    for (var c0 = 0u; c0 < s; c0 = c0 + P.ch) {
      let nb = min(P.ch, s - c0);
      for (var e = li; e < nb * k; e = e + 256u) {
        let bk = c0 + e / k;
        let a = e % k;
        var y = 0.0;
        if (SKETCH) {
          for (var t = bk; t < len; t = t + s) {
            let v = order[b + t];
            let pos = select(u32(v), u32(-(v + 1)), v < 0);
            let f = F[idx[pos] * k + a];
            if (v < 0) {
              y = y - f;
            } else {
              y = y + f;
            }
          }
        } else {
          y = F[idx[b + bk] * k + a];
        }
        tile[e] = y;
      }
      workgroupBarrier();
      for (var r = 0u; r < PPT; r = r + 1u) {
        let pe = pb + r * 256u + li;
        if (pe < kk) {
          let a = pe / k;
          let c = pe - a * k;
          var sum = 0.0;
          for (var t = 0u; t < nb; t = t + 1u) {
            sum = sum + tile[t * k + a] * tile[t * k + c];
          }
          acc[r] = acc[r] + sum;
        }
      }
      workgroupBarrier();
    }
    for (var r = 0u; r < PPT; r = r + 1u) {
      let pe = pb + r * 256u + li;
      if (pe < kk) {
        out[j * kk + pe] = acc[r];
      }
    }
  }
}

@compute @workgroup_size(256)
fn seg_diag(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
  let j = linear_wg(wg, nwg);
  if (j >= P.segs) {
    return;
  }
  let b = ptr[j];
  let e = ptr[j + 1u];
  let k = P.k;
  for (var a = li; a < k; a = a + 256u) {
    var sum = 0.0;
    for (var t = b; t < e; t = t + 1u) {
      let f = F[idx[t] * k + a];
      sum = sum + f * f;
    }
    out[j * k + a] = sum;
  }
}
