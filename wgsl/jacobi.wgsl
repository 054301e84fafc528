// Parallel Jacobi rounds (round-robin "circle" ordering): in round r of a sweep, index pairs
// k = 0 .. np - 1 are (N - 1, r) for k = 0 and ((r + k) mod (N - 1), (r - k) mod (N - 1)) otherwise,
// N = 2 np >= n. Every unordered pair meets once per sweep of N - 1 rounds; indices >= n are padding.
// The rotation J (J_pp = J_qq = c, J_pq = s, J_qp = -s) diagonalizes [[app, apq], [apq, aqq]]
// (Golub & Van Loan, sym.schur2). Rotations below the threshold are skipped; the per-sweep counters
// below tell the host (which reads them once per sweep, not per round) when to stop.

fn pair_of(k: u32, r: u32, np: u32) -> vec2<u32> {
  let n1 = 2u * np - 1u;
  if (k == 0u) {
    return vec2<u32>(n1, r);
  }
  return vec2<u32>((r + k) % n1, (r + n1 - k) % n1);
}

// Rotations are applied in Rutishauser's form, with r = s / (1 + c):
//   c x - s y = x - s (y + r x),   s x + c y = y + s (x - r y).
// For small angles c rounds to 1 while s does not, so the plain form would inflate norms by
// ~s^2 per rotation (a bias that adds up over the sweeps); this form keeps 1 - c = s r implicitly.

// Per sweep slot, count[2 slot] counts the applied rotations and count[2 slot + 1] holds the largest
// |t| (two-sided) or |cos| (one-sided) seen, as f32 bits (order-preserving for non-negative floats).

// (c, s, t, r) for the 2 x 2 symmetric problem; t == 0 means skipped (identity). Skipped when
// |apq| <= max(rtol sqrt(|app aqq|), atol, gtol |aqq - app|); gtol = u / 2 skips rotations by an
// angle below rounding level, which would only add rounding error to the accumulated vectors.
fn schur2(app: f32, aqq: f32, apq: f32, rtol: f32, atol: f32, gtol: f32) -> vec4<f32> {
  if (abs(apq) <= max(max(rtol * sqrt(abs(app)) * sqrt(abs(aqq)), atol), gtol * abs(aqq - app))) {
    return vec4<f32>(1.0, 0.0, 0.0, 0.0);
  }
  let tau = (aqq - app) / (2.0 * apq);
  var t: f32;
  if (abs(tau) > 1e18) {
    t = 0.5 / tau;
  } else {
    t = select(-1.0, 1.0, tau >= 0.0) / (abs(tau) + sqrt(1.0 + tau * tau));
  }
  let c = 1.0 / sqrt(1.0 + t * t);
  let s = t * c;
  return vec4<f32>(c, s, t, s / (1.0 + c));
}

// The pair (x, y) rotated by (s, r): (c x - s y, s x + c y).
fn rot2(x: f32, y: f32, s: f32, r: f32) -> vec2<f32> {
  return vec2<f32>(x - s * (y + r * x), y + s * (x - r * y));
}

// ---- double-f32 accumulation of the rotations ---------------------------------------------------------
// The eigenvectors (Vt of sym_apply) are kept as hi + lo pairs in two buffers: every element is
// touched by ~n rotations per sweep, and plain f32 loses some orthogonality (~1.6 n u at n = 520 vs
// ~0.1 n u). Error-free transforms without
// fma (WGSL does not promise a fused fma; lavapipe does not fuse): Dekker's TwoProd with Veltkamp
// splitting, Knuth's TwoSum, FastTwoSum. Drivers apply algebraic float rewrites such as
// (a + b) - a -> b that would cancel the error terms, so every rounded result goes through a
// multiplication by `one` (a uniform equal to 1.0 that the compiler cannot see). hi alone is the
// correctly rounded value of the pair.

fn df_split(a: f32, one: f32) -> vec2<f32> {
  let c = (4097.0 * a) * one;
  let h = c - (c - a);
  return vec2<f32>(h, a - h);
}

fn two_prod(a: f32, b: f32, one: f32) -> vec2<f32> {
  let p = (a * b) * one;
  let sa = df_split(a, one);
  let sb = df_split(b, one);
  return vec2<f32>(p, ((sa.x * sb.x - p) + sa.x * sb.y + sa.y * sb.x) + sa.y * sb.y);
}

fn two_sum(a: f32, b: f32, one: f32) -> vec2<f32> {
  let s = (a + b) * one;
  let bb = s - a;
  return vec2<f32>(s, (a - (s - bb)) + (b - bb));
}

// v + d w + e v for v = (vh, vl), w = (wh, wl): one side of a rotation in Rutishauser's form.
fn df_rot(v: vec2<f32>, w: vec2<f32>, d: f32, e: f32, one: f32) -> vec2<f32> {
  let p = two_prod(d, w.x, one);
  let q = two_prod(e, v.x, one);
  let t1 = two_sum(v.x, p.x, one);
  let t2 = two_sum(t1.x, q.x, one);
  let lo = (t1.y + t2.y) + (p.y + q.y) + (v.y + d * w.y + e * v.y);
  let hi = (t2.x + lo) * one;
  return vec2<f32>(hi, lo - (hi - t2.x));
}

// ---- two-sided (symmetric eigenproblem) --------------------------------------------------------------
// sym_rot: rotation of every pair of this round from the current matrix A (one invocation per pair).
// sym_apply: A' = J^T A J into the other ping-pong buffer (one invocation per 2 x 2 block pair with
// bp <= bq, writing both the block and its mirror, so A' stays exactly symmetric) and the rows p, q of
// Vt (eigenvectors stored as rows) rotated in place.

struct SymParams { n: u32, np: u32, round: u32, slot: u32, rtol: f32, atol: f32, gtol: f32, one: f32 }

@group(0) @binding(0) var<uniform> PS: SymParams;
@group(0) @binding(1) var<storage, read> s_a: array<f32>;
@group(0) @binding(2) var<storage, read_write> s_rot: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> s_count: array<atomic<u32>>;

@compute @workgroup_size(64)
fn sym_rot(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x;
  if (k >= PS.np) {
    return;
  }
  let pq = pair_of(k, PS.round, PS.np);
  let n = PS.n;
  var rot = vec4<f32>(1.0, 0.0, 0.0, 0.0);
  if (pq.x < n && pq.y < n) {
    rot = schur2(s_a[pq.x * n + pq.x], s_a[pq.y * n + pq.y], s_a[pq.x * n + pq.y], PS.rtol, PS.atol, PS.gtol);
  }
  s_rot[k] = rot;
  if (rot.z != 0.0) {
    atomicAdd(&s_count[2u * PS.slot], 1u);
    atomicMax(&s_count[2u * PS.slot + 1u], bitcast<u32>(abs(rot.z)));
  }
}

@group(0) @binding(0) var<uniform> PA: SymParams;
@group(0) @binding(1) var<storage, read> a_in: array<f32>;
@group(0) @binding(2) var<storage, read> a_rot: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> a_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> a_vt: array<f32>;
@group(0) @binding(5) var<storage, read_write> a_vtlo: array<f32>;

fn a_get(i: u32, j: u32) -> f32 {
  if (i < PA.n && j < PA.n) {
    return a_in[i * PA.n + j];
  }
  return 0.0;
}

fn a_put(i: u32, j: u32, v: f32) {
  if (i < PA.n && j < PA.n) {
    a_out[i * PA.n + j] = v;
  }
}

// Invocations [0, np (np + 1) / 2): one 2 x 2 block pair bp <= bq each (lower-triangle numbering);
// then np * ceil(n / 4): four consecutive entries of the two rows of Vt of one pair each.
@compute @workgroup_size(256)
fn sym_apply(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
  let t = (wg.x + wg.y * nwg.x) * 256u + li;
  let np = PA.np;
  let n = PA.n;
  let blocks = np * (np + 1u) / 2u;
  if (t < blocks) {
    // t = bq (bq + 1) / 2 + bp with 0 <= bp <= bq
    var bq = u32((sqrt(8.0 * f32(t) + 1.0) - 1.0) * 0.5);
    if ((bq + 1u) * (bq + 2u) / 2u <= t) {
      bq = bq + 1u;
    }
    if (bq * (bq + 1u) / 2u > t) {
      bq = bq - 1u;
    }
    let bp = t - bq * (bq + 1u) / 2u;
    let p = pair_of(bp, PA.round, np);
    let q = pair_of(bq, PA.round, np);
    let ra = a_rot[bp];
    if (bp == bq) {
      let app = a_get(p.x, p.x);
      let aqq = a_get(p.y, p.y);
      let apq = a_get(p.x, p.y);
      if (ra.z != 0.0) {
        a_put(p.x, p.x, app - ra.z * apq);
        a_put(p.y, p.y, aqq + ra.z * apq);
        a_put(p.x, p.y, 0.0);
        a_put(p.y, p.x, 0.0);
      } else {
        a_put(p.x, p.x, app);
        a_put(p.y, p.y, aqq);
        a_put(p.x, p.y, apq);
        a_put(p.y, p.x, apq);
      }
      return;
    }
    let rb = a_rot[bq];
    // Y = Ja^T X (rows), then X' = Y Jb (columns)
    let c0 = rot2(a_get(p.x, q.x), a_get(p.y, q.x), ra.y, ra.w);
    let c1 = rot2(a_get(p.x, q.y), a_get(p.y, q.y), ra.y, ra.w);
    let r0 = rot2(c0.x, c1.x, rb.y, rb.w);
    let r1 = rot2(c0.y, c1.y, rb.y, rb.w);
    a_put(p.x, q.x, r0.x);
    a_put(p.x, q.y, r0.y);
    a_put(p.y, q.x, r1.x);
    a_put(p.y, q.y, r1.y);
    a_put(q.x, p.x, r0.x);
    a_put(q.y, p.x, r0.y);
    a_put(q.x, p.y, r1.x);
    a_put(q.y, p.y, r1.y);
    return;
  }
  let nq4 = (n + 3u) / 4u;
  let v = t - blocks;
  if (v >= np * nq4) {
    return;
  }
  let k = v / nq4;
  let i0 = (v - k * nq4) * 4u;
  let r = a_rot[k];
  if (r.z == 0.0) {
    return;
  }
  let pq = pair_of(k, PA.round, np);
  for (var i = i0; i < min(i0 + 4u, n); i = i + 1u) {
    let ip = pq.x * n + i;
    let iq = pq.y * n + i;
    let vp = vec2<f32>(a_vt[ip], a_vtlo[ip]);
    let vq = vec2<f32>(a_vt[iq], a_vtlo[iq]);
    let np_ = df_rot(vp, vq, -r.y, -r.y * r.w, PA.one);
    let nq = df_rot(vq, vp, r.y, -r.y * r.w, PA.one);
    a_vt[ip] = np_.x;
    a_vtlo[ip] = np_.y;
    a_vt[iq] = nq.x;
    a_vtlo[iq] = nq.y;
  }
}

// ---- one-sided (Hestenes) SVD --------------------------------------------------------------------------
// Bt (n x m): row k is column k of the matrix being orthogonalized; Vt (n x n) accumulates the
// rotations as rows, in plain f32 here: U's orthogonality is bounded by the convergence test
// (~sqrt(m) u per pair) anyway, and double-f32 would cost 1.75x on CPU adapters. One workgroup per
// pair: the Gram entries (alpha, beta, gamma) by a workgroup reduction, then both rows of Bt and Vt
// rotated in the same workgroup (64 invocations: few invocations matter most on CPU adapters, and
// each pair has only O(m) work).

// floor: columns with squared norm <= floor are numerically zero (their U columns are completed by
// the host code) and are not rotated. nv: the length of the Vt rows rotated (n, or 0 when the caller
// wants only the singular values: Vt is then not touched).
struct SvdParams { m: u32, n: u32, np: u32, round: u32, slot: u32, tol: f32, floor: f32, nv: u32 }

@group(0) @binding(0) var<uniform> PV: SvdParams;
@group(0) @binding(1) var<storage, read_write> v_bt: array<f32>;
@group(0) @binding(2) var<storage, read_write> v_vt: array<f32>;
@group(0) @binding(3) var<storage, read_write> v_count: array<atomic<u32>>;

const SVD_WG: u32 = 64u;

var<workgroup> red: array<vec4<f32>, SVD_WG>;

@compute @workgroup_size(SVD_WG)
fn svd_round(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
  let k = wg.x + wg.y * nwg.x;
  let pq = pair_of(min(k, PV.np - 1u), PV.round, PV.np);
  let live = k < PV.np && pq.x < PV.n && pq.y < PV.n;
  let m = PV.m;
  let rp = pq.x * m;
  let rq = pq.y * m;
  var acc = vec4<f32>(0.0);
  if (live) {
    for (var i = li; i < m; i = i + SVD_WG) {
      let a = v_bt[rp + i];
      let b = v_bt[rq + i];
      acc = acc + vec4<f32>(a * a, b * b, a * b, 0.0);
    }
  }
  red[li] = acc;
  workgroupBarrier();
  for (var s = SVD_WG / 2u; s > 0u; s = s >> 1u) {
    if (li < s) {
      red[li] = red[li] + red[li + s];
    }
    workgroupBarrier();
  }
  if (!live) {
    return;
  }
  let g = red[0];
  if (!(min(g.x, g.y) > PV.floor)) {
    return;
  }
  let rot = schur2(g.x, g.y, g.z, PV.tol, 0.0, 0.0);
  if (rot.z == 0.0) {
    return;
  }
  if (li == 0u) {
    atomicAdd(&v_count[2u * PV.slot], 1u);
    atomicMax(&v_count[2u * PV.slot + 1u], bitcast<u32>(abs(g.z) / (sqrt(g.x) * sqrt(g.y))));
  }
  let s = rot.y;
  let r = rot.w;
  for (var i = li; i < m; i = i + SVD_WG) {
    let ab = rot2(v_bt[rp + i], v_bt[rq + i], s, r);
    v_bt[rp + i] = ab.x;
    v_bt[rq + i] = ab.y;
  }
  let n = PV.n;
  for (var i = li; i < PV.nv; i = i + SVD_WG) {
    let ip = pq.x * n + i;
    let iq = pq.y * n + i;
    let ab = rot2(v_vt[ip], v_vt[iq], s, r);
    v_vt[ip] = ab.x;
    v_vt[iq] = ab.y;
  }
}
