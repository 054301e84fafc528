// Batched small Cholesky factorizations and solves: one invocation per k x k matrix, working in place
// in the output buffer (k is small: the per-segment systems of alternating least squares).
//   chol_batch   L_j = chol(G_j + lambda_j I), lambda_j = ridge_j tr(G_j) / k; on breakdown (a pivot
//                <= k u tr, or non-finite) retried with max(lambda_j, fallback tr / k) (status 1); if
//                that fails too, or tr is 0 / non-finite, L_j = 0 (status 2). INVERSE: L_j^{-1}.
//   chol_solve   X_j = (L_j L_j^T)^{-1} h_j; X_j = 0 where L_j[0] == 0.

struct Params { segs: u32, k: u32, has_ridge: u32, inverse: u32, fallback: f32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> ridge: array<f32>;
@group(0) @binding(3) var<storage, read_write> L: array<f32>;
@group(0) @binding(4) var<storage, read_write> status: array<f32>;
// chol_solve bindings (same numbers, distinct names).
@group(0) @binding(1) var<storage, read> SL: array<f32>;
@group(0) @binding(2) var<storage, read> SH: array<f32>;
@group(0) @binding(3) var<storage, read_write> SX: array<f32>;

fn is_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn linear_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * 64u + li;
}

fn load(o: u32, k: u32) {
  for (var a = 0u; a < k; a = a + 1u) {
    for (var c = 0u; c < k; c = c + 1u) {
      if (c <= a) {
        L[o + a * k + c] = G[o + a * k + c];
      } else {
        L[o + a * k + c] = 0.0;
      }
    }
  }
}

fn factor(o: u32, k: u32, lambda: f32, tiny: f32) -> bool {
  for (var j = 0u; j < k; j = j + 1u) {
    var d = L[o + j * k + j] + lambda;
    for (var c = 0u; c < j; c = c + 1u) {
      let v = L[o + j * k + c];
      d = d - v * v;
    }
    if (!is_finite(d) || !(d > tiny)) {
      return false;
    }
    let r = sqrt(d);
    L[o + j * k + j] = r;
    for (var i = j + 1u; i < k; i = i + 1u) {
      var s = L[o + i * k + j];
      for (var c = 0u; c < j; c = c + 1u) {
        s = s - L[o + i * k + c] * L[o + j * k + c];
      }
      L[o + i * k + j] = s / r;
    }
  }
  return true;
}

@compute @workgroup_size(64)
fn chol_batch(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
  let j = linear_id(wg, nwg, li);
  if (j >= P.segs) {
    return;
  }
  let k = P.k;
  let o = j * k * k;
  var tr = 0.0;
  for (var a = 0u; a < k; a = a + 1u) {
    tr = tr + G[o + a * k + a];
  }
  let tiny = f32(k) * 5.9604645e-8 * tr;
  var st = 0.0;
  var good = is_finite(tr) && tr > 0.0;
  if (good) {
    var rel = 0.0;
    if (P.has_ridge != 0u) {
      rel = ridge[j];
    }
    let lam = rel * tr / f32(k);
    load(o, k);
    good = factor(o, k, lam, tiny);
    if (!good && P.fallback > 0.0) {
      load(o, k);
      good = factor(o, k, max(lam, P.fallback * tr / f32(k)), tiny);
      st = 1.0;
    }
  }
  if (!good) {
    for (var e = 0u; e < k * k; e = e + 1u) {
      L[o + e] = 0.0;
    }
    status[j] = 2.0;
    return;
  }
  status[j] = st;
  if (P.inverse != 0u) {
    // Column c of L^{-1} (rows >= c) is parked transposed in row c of the strict upper triangle; it
    // reads only the lower triangle of L and its own earlier entries. Right to left, then moved.
    for (var cc = 0u; cc < k; cc = cc + 1u) {
      let c = k - 1u - cc;
      let wc = 1.0 / L[o + c * k + c];
      for (var i = c + 1u; i < k; i = i + 1u) {
        var s = -L[o + i * k + c] * wc;
        for (var t = c + 1u; t < i; t = t + 1u) {
          s = s - L[o + i * k + t] * L[o + c * k + t];
        }
        L[o + c * k + i] = s / L[o + i * k + i];
      }
    }
    for (var c = 0u; c < k; c = c + 1u) {
      L[o + c * k + c] = 1.0 / L[o + c * k + c];
      for (var i = c + 1u; i < k; i = i + 1u) {
        L[o + i * k + c] = L[o + c * k + i];
        L[o + c * k + i] = 0.0;
      }
    }
  }
}

@compute @workgroup_size(64)
fn chol_solve(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
  let j = linear_id(wg, nwg, li);
  if (j >= P.segs) {
    return;
  }
  let k = P.k;
  let o = j * k * k;
  let x = j * k;
  if (SL[o] == 0.0) {
    for (var i = 0u; i < k; i = i + 1u) {
      SX[x + i] = 0.0;
    }
    return;
  }
  for (var i = 0u; i < k; i = i + 1u) {
    var s = SH[x + i];
    for (var t = 0u; t < i; t = t + 1u) {
      s = s - SL[o + i * k + t] * SX[x + t];
    }
    SX[x + i] = s / SL[o + i * k + i];
  }
  for (var ii = 0u; ii < k; ii = ii + 1u) {
    let i = k - 1u - ii;
    var s = SX[x + i];
    for (var t = i + 1u; t < k; t = t + 1u) {
      s = s - SL[o + t * k + i] * SX[x + t];
    }
    SX[x + i] = s / SL[o + i * k + i];
  }
}
