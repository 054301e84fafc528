// Unblocked Householder QR on a transposed store At (n x m row-major: row j is column j of A, so every
// column access is contiguous). Reflector j: H_j = I - tau_j v v^T with v_j = 1 and v_i (i > j)
// stored in At[j][i]; R's diagonal r_jj = At[j][j] >= 0 (so R matches the CholeskyQR convention).
// A zero column gives tau = 0 (H = I) and r_jj = 0; H stays orthogonal for any input, which is what
// keeps Q orthonormal when A is rank-deficient.
//!include "ssq.wgsl"

struct RefParams { j: u32, m: u32 }

@group(0) @binding(0) var<uniform> PR: RefParams;
@group(0) @binding(1) var<storage, read_write> r_at: array<f32>;
@group(0) @binding(2) var<storage, read_write> r_tau: array<f32>;
@group(0) @binding(3) var<storage, read_write> r_v: array<f32>;

var<workgroup> red: array<vec2<f32>, 256>;
var<workgroup> coef: vec2<f32>; // (1 / (s * v1s), unused)

// One workgroup: builds reflector j from At[j][j..m), writes beta, v (in At and in r_v) and tau.
@compute @workgroup_size(256)
fn reflector(@builtin(local_invocation_index) li: u32) {
  let j = PR.j;
  let m = PR.m;
  let row = j * m;
  var acc = vec2<f32>(0.0, 1.0);
  for (var i = j + 1u + li; i < m; i = i + 256u) {
    acc = ssq_add(acc, r_at[row + i]);
  }
  red[li] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (li < s) {
      red[li] = ssq_merge(red[li], red[li + s]);
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    let x1 = r_at[row + j];
    let tail = red[0];
    let s = max(tail.x, abs(x1));
    var tau = 0.0;
    var beta = x1;
    var f = 0.0;
    if (tail.x == 0.0 && tail.y >= 0.0) {
      // Tail already zero (tail.y < 0 flags a NaN in the tail, which must propagate): H = I, or the reflection -e1 e1^T flip when x1 < 0 (keeps r_jj >= 0).
      if (x1 < 0.0) {
        tau = 2.0;
        beta = -x1;
      }
    } else {
      let t = (tail.x / s) * sqrt(tail.y); // ||x_tail|| / s
      let a = x1 / s;
      let nrm = sqrt(a * a + t * t);
      var v1s: f32;
      if (a > 0.0) {
        v1s = -(t * t) / (a + nrm);
      } else {
        v1s = a - nrm;
      }
      tau = 2.0 * v1s * v1s / (v1s * v1s + t * t);
      beta = s * nrm;
      f = 1.0 / v1s; // v_i = (x_i / s) / v1s
    }
    r_at[row + j] = beta;
    r_tau[j] = tau;
    r_v[j] = 1.0;
    coef = vec2<f32>(f, s);
  }
  workgroupBarrier();
  let f = coef.x;
  let s = coef.y;
  for (var i = j + 1u + li; i < m; i = i + 256u) {
    var v = 0.0;
    if (f != 0.0) {
      v = (r_at[row + i] / s) * f;
    }
    r_at[row + i] = v;
    r_v[i] = v;
  }
}

// ---- apply: rows k = k0 + w of M (each a length-m vector) <- H_j applied to it ------------------------
// v is read from vsrc[v_off + i] for i > j (v_j = 1 implicitly); tau from tau[j]. One workgroup per row.

struct ApplyParams { j: u32, m: u32, v_off: u32, k0: u32, count: u32 }

@group(0) @binding(0) var<uniform> PA: ApplyParams;
@group(0) @binding(1) var<storage, read> a_v: array<f32>;
@group(0) @binding(2) var<storage, read> a_tau: array<f32>;
@group(0) @binding(3) var<storage, read_write> a_m: array<f32>;

var<workgroup> dots: array<f32, 256>;

@compute @workgroup_size(256)
fn apply(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
  let w = wg.x + wg.y * nwg.x;
  let live = w < PA.count;
  let j = PA.j;
  let m = PA.m;
  let row = (PA.k0 + w) * m;
  var acc = 0.0;
  if (live) {
    if (li == 0u) {
      acc = a_m[row + j];
    }
    for (var i = j + 1u + li; i < m; i = i + 256u) {
      acc = acc + a_v[PA.v_off + i] * a_m[row + i];
    }
  }
  dots[li] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (li < s) {
      dots[li] = dots[li] + dots[li + s];
    }
    workgroupBarrier();
  }
  if (!live) {
    return;
  }
  let g = a_tau[j] * dots[0];
  if (li == 0u) {
    a_m[row + j] = a_m[row + j] - g;
  }
  for (var i = j + 1u + li; i < m; i = i + 256u) {
    a_m[row + i] = a_m[row + i] - g * a_v[PA.v_off + i];
  }
}

// ---- vpanel: explicit reflectors of a panel, Vt (b x w) with Vt[r][c] = v^(j0 + r)_(c0 + c) --------
// (zero before the unit diagonal), read from the factored At (row stride m). Columns start at c0.

struct VParams { j0: u32, b: u32, m: u32, c0: u32, w: u32 }

@group(0) @binding(0) var<uniform> PV: VParams;
@group(0) @binding(1) var<storage, read> v_at: array<f32>;
@group(0) @binding(2) var<storage, read_write> v_out: array<f32>;

@compute @workgroup_size(256)
fn vpanel(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
  let e = (wg.x + wg.y * nwg.x) * 256u + li;
  if (e >= PV.b * PV.w) {
    return;
  }
  let r = e / PV.w;
  let i = PV.c0 + e - r * PV.w;
  let d = PV.j0 + r;
  var v = 0.0;
  if (i == d) {
    v = 1.0;
  } else if (i > d) {
    v = v_at[d * PV.m + i];
  }
  v_out[e] = v;
}

// ---- build_t: the upper triangular T (b x b) of the compact WY form H_j0 ... H_(j0+b-1) = I - V T V^T
// (LAPACK larft, forward, columnwise) from S = V^T V and tau. One workgroup of 32.

struct TParams { j0: u32, b: u32 }

@group(0) @binding(0) var<uniform> PT: TParams;
@group(0) @binding(1) var<storage, read> t_s: array<f32>;
@group(0) @binding(2) var<storage, read> t_tau: array<f32>;
@group(0) @binding(3) var<storage, read_write> t_out: array<f32>;

var<workgroup> Ts: array<array<f32, 33>, 32>;

@compute @workgroup_size(32)
fn build_t(@builtin(local_invocation_index) r: u32) {
  let b = PT.b;
  for (var c = 0u; c < 32u; c = c + 1u) {
    Ts[r][c] = 0.0;
  }
  workgroupBarrier();
  for (var i = 0u; i < b; i = i + 1u) {
    let ti = t_tau[PT.j0 + i];
    if (r < i) {
      // T[r][i] = -tau_i sum_{p = r}^{i - 1} T[r][p] S[p][i]
      var acc = 0.0;
      for (var p = r; p < i; p = p + 1u) {
        acc = acc + Ts[r][p] * t_s[p * b + i];
      }
      Ts[r][i] = -ti * acc;
    } else if (r == i) {
      Ts[r][i] = ti;
    }
    workgroupBarrier();
  }
  if (r < b) {
    for (var c = 0u; c < b; c = c + 1u) {
      t_out[r * b + c] = Ts[r][c];
    }
  }
}
