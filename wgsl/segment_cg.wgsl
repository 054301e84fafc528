// Preconditioned CG on the per-segment normal equations A_j^T A_j x = A_j^T b_j (A_j = F[idx[t], :],
// b_j = the segment's stored values; segments as in segment_gram.wgsl), `steps` steps from X0_j.
// One workgroup of 64 per segment: the segment's entries are processed 64 at a time (one invocation
// per entry computes a dot product with a k-vector held in workgroup memory, then one invocation per
// coordinate accumulates the weighted rows), so every output has one writer and nothing is atomic.
// Preconditioner row P_j: pw == k*k: W_j = L_j^{-1} (lower), M^{-1} = W_j^T W_j; pw == k: a diagonal.
// With has_ridge the system is A_j^T A_j + lambda_j I, lambda_j = ridge[j] trace(A_j^T A_j) / k (the
// trace accumulated in the first pass; a diagonal preconditioner is shifted by lambda_j too).
// Scalars that steer the loop (r.z, p.q) go through workgroupUniformLoad, so control flow around the
// barriers is uniform.

override PERM: bool = false;
const MAXK: u32 = 256u;
const WG: u32 = 64u;

struct Params { segs: u32, k: u32, pw: u32, steps: u32, has_ridge: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> ptr: array<u32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read> vals: array<f32>;
@group(0) @binding(4) var<storage, read> perm: array<u32>;
@group(0) @binding(5) var<storage, read> F: array<f32>;
@group(0) @binding(6) var<storage, read> X0: array<f32>;
@group(0) @binding(7) var<storage, read> PC: array<f32>;
@group(0) @binding(8) var<storage, read_write> X: array<f32>;
@group(0) @binding(9) var<storage, read> ridge: array<f32>;

var<workgroup> x: array<f32, MAXK>;
var<workgroup> r: array<f32, MAXK>;
var<workgroup> z: array<f32, MAXK>;
var<workgroup> p: array<f32, MAXK>;
var<workgroup> q: array<f32, MAXK>;
var<workgroup> y: array<f32, MAXK>;
var<workgroup> tv: array<f32, WG>;
var<workgroup> red: array<f32, WG>;
var<workgroup> scal: f32;
var<workgroup> lambda: f32;
var<workgroup> wb: u32;
var<workgroup> we: u32;

fn is_finite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

fn value(t: u32) -> f32 {
  if (PERM) {
    return vals[perm[t]];
  }
  return vals[t];
}

// r.z, p.q: partial sums per invocation, tree reduction, broadcast through workgroupUniformLoad.
fn dot_rz(li: u32) -> f32 {
  var s = 0.0;
  for (var a = li; a < P.k; a = a + WG) {
    s = s + r[a] * z[a];
  }
  red[li] = s;
  return reduce(li);
}

fn dot_pq(li: u32) -> f32 {
  var s = 0.0;
  for (var a = li; a < P.k; a = a + WG) {
    s = s + p[a] * q[a];
  }
  red[li] = s;
  return reduce(li);
}

fn reduce(li: u32) -> f32 {
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (li < h) {
      red[li] = red[li] + red[li + h];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    scal = red[0];
  }
  return workgroupUniformLoad(&scal);
}

// z = M^{-1} r (ends with a barrier).
fn precond(j: u32, li: u32) {
  let k = P.k;
  if (P.pw == k) {
    for (var a = li; a < k; a = a + WG) {
      let d = PC[j * k + a] + lambda;
      if (d > 0.0) {
        z[a] = r[a] / d;
      } else {
        z[a] = 0.0;
      }
    }
    workgroupBarrier();
    return;
  }
  let o = j * k * k;
  for (var i = li; i < k; i = i + WG) {
    var s = 0.0;
    for (var c = 0u; c <= i; c = c + 1u) {
      s = s + PC[o + i * k + c] * r[c];
    }
    y[i] = s;
  }
  workgroupBarrier();
  for (var c = li; c < k; c = c + WG) {
    var s = 0.0;
    for (var i = c; i < k; i = i + 1u) {
      s = s + PC[o + i * k + c] * y[i];
    }
    z[c] = s;
  }
  workgroupBarrier();
}

@compute @workgroup_size(64)
fn seg_cg(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
  let j = wg.x + wg.y * nwg.x;
  if (j >= P.segs) {
    return; // uniform
  }
  let k = P.k;
  if (li == 0u) {
    wb = ptr[j];
    we = ptr[j + 1u];
  }
  let e = workgroupUniformLoad(&we);
  let b = workgroupUniformLoad(&wb);
  for (var a = li; a < k; a = a + WG) {
    x[a] = X0[j * k + a];
    r[a] = 0.0;
  }
  workgroupBarrier();
  // r = A^T (b - A x) - lambda x
  var trp = 0.0;
  for (var t0 = b; t0 < e; t0 = t0 + WG) {
    let t = t0 + li;
    var v = 0.0;
    if (t < e) {
      let o = idx[t] * k;
      var s = 0.0;
      for (var a = 0u; a < k; a = a + 1u) {
        let fa = F[o + a];
        s = s + fa * x[a];
        trp = trp + fa * fa;
      }
      v = value(t) - s;
    }
    tv[li] = v;
    workgroupBarrier();
    let n = min(WG, e - t0);
    for (var a = li; a < k; a = a + WG) {
      var s = r[a];
      for (var c = 0u; c < n; c = c + 1u) {
        s = s + tv[c] * F[idx[t0 + c] * k + a];
      }
      r[a] = s;
    }
    workgroupBarrier();
  }
  red[li] = trp;
  let tr = reduce(li);
  if (li == 0u) {
    var lam = 0.0;
    if (P.has_ridge != 0u && ridge[j] > 0.0) {
      lam = ridge[j] * tr / f32(k);
    }
    lambda = lam;
  }
  workgroupBarrier();
  let lam = lambda;
  for (var a = li; a < k; a = a + WG) {
    r[a] = r[a] - lam * x[a];
  }
  workgroupBarrier();
  precond(j, li);
  for (var a = li; a < k; a = a + WG) {
    p[a] = z[a];
  }
  var rz = dot_rz(li);
  for (var step = 0u; step < P.steps; step = step + 1u) {
    if (!is_finite(rz) || !(rz > 0.0)) {
      break;
    }
    for (var a = li; a < k; a = a + WG) {
      q[a] = 0.0;
    }
    workgroupBarrier();
    for (var t0 = b; t0 < e; t0 = t0 + WG) {
      let t = t0 + li;
      var v = 0.0;
      if (t < e) {
        let o = idx[t] * k;
        for (var a = 0u; a < k; a = a + 1u) {
          v = v + F[o + a] * p[a];
        }
      }
      tv[li] = v;
      workgroupBarrier();
      let n = min(WG, e - t0);
      for (var a = li; a < k; a = a + WG) {
        var s = q[a];
        for (var c = 0u; c < n; c = c + 1u) {
          s = s + tv[c] * F[idx[t0 + c] * k + a];
        }
        q[a] = s;
      }
      workgroupBarrier();
    }
    for (var a = li; a < k; a = a + WG) {
      q[a] = q[a] + lam * p[a];
    }
    let pq = dot_pq(li);
    if (!is_finite(pq) || !(pq > 0.0)) {
      break;
    }
    let alpha = rz / pq;
    for (var a = li; a < k; a = a + WG) {
      x[a] = x[a] + alpha * p[a];
      r[a] = r[a] - alpha * q[a];
    }
    if (step + 1u == P.steps) {
      break;
    }
    workgroupBarrier();
    precond(j, li);
    let rz2 = dot_rz(li);
    let beta = rz2 / rz;
    for (var a = li; a < k; a = a + WG) {
      p[a] = z[a] + beta * p[a];
    }
    rz = rz2;
  }
  workgroupBarrier();
  for (var a = li; a < k; a = a + WG) {
    X[j * k + a] = x[a];
  }
}
