// Recurrent SSM mode as an associative scan: for every row r of u (R x L), channel h = r mod H, and mode n,
//   x_l = a x_{l-1} + b u_l (x_{-1} = 0, complex a, b),   y[r, l] = Re sum_n c_n x_{l,n}.
// The pairs (a, b u_l) compose associatively: (A1, X1) then (A2, X2) = (A2 A1, A2 X1 + X2).
// One workgroup per row (linear index wg.x + wg.y * nwg.x), 256 invocations, each owning a contiguous
// chunk of l. Per mode: (1) every invocation reduces its chunk to one pair, (2) a Hillis-Steele scan of
// the 256 pairs in workgroup memory gives every chunk its incoming state, (3) every invocation re-runs its
// chunk from that state and accumulates Re(c x) into its own part of y (no other invocation writes it).
// Table (f32, stride 6 per (h, n)): a_re, a_im, b_re, b_im, c_re, c_im.

struct Params { R: u32, H: u32, N: u32, L: u32, chunk: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read> tab: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> s_a: array<vec2<f32>, 256>;
var<workgroup> s_x: array<vec2<f32>, 256>;

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

@compute @workgroup_size(256)
fn scan(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let r = wg.x + wg.y * nwg.x;
  if (r >= P.R) { return; }
  let h = r % P.H;
  let row = r * P.L;
  let l0 = min(P.L, li * P.chunk);
  let l1 = min(P.L, l0 + P.chunk);
  for (var n = 0u; n < P.N; n = n + 1u) {
    let e = 6u * (h * P.N + n);
    let a = vec2<f32>(tab[e], tab[e + 1u]);
    let b = vec2<f32>(tab[e + 2u], tab[e + 3u]);
    let c = vec2<f32>(tab[e + 4u], tab[e + 5u]);
    // (1) chunk summary
    var A = vec2<f32>(1.0, 0.0);
    var X = vec2<f32>(0.0, 0.0);
    for (var l = l0; l < l1; l = l + 1u) {
      X = cmul(a, X) + b * u[row + l];
      A = cmul(a, A);
    }
    s_a[li] = A;
    s_x[li] = X;
    workgroupBarrier();
    // (2) inclusive scan over the chunks
    for (var off = 1u; off < 256u; off = off * 2u) {
      var pa = vec2<f32>(1.0, 0.0);
      var px = vec2<f32>(0.0, 0.0);
      let has = li >= off;
      if (has) {
        pa = s_a[li - off];
        px = s_x[li - off];
      }
      workgroupBarrier();
      if (has) {
        let ca = s_a[li];
        let cx = s_x[li];
        s_a[li] = cmul(ca, pa);
        s_x[li] = cmul(ca, px) + cx;
      }
      workgroupBarrier();
    }
    var x = vec2<f32>(0.0, 0.0);
    if (li > 0u) { x = s_x[li - 1u]; }
    workgroupBarrier();
    // (3) re-run the chunk from its incoming state
    for (var l = l0; l < l1; l = l + 1u) {
      x = cmul(a, x) + b * u[row + l];
      let v = c.x * x.x - c.y * x.y;
      if (n == 0u) { y[row + l] = v; } else { y[row + l] = y[row + l] + v; }
    }
  }
}
