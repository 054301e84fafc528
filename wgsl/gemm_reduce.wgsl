// Split-K reduction: C = alpha sum_z partial[z] + beta C, summing the slices in a fixed order (so the
// result is deterministic; WGSL has no float atomics). partial[z * sliceStride + i * n + j] holds
// slice z of an m x n product; C(i, j) is C[offC + i * ldc + j]. One invocation per element, linear
// index folded over a 2-D grid (wg.x + wg.y * nwg.x).

struct Params { m: u32, n: u32, ldc: u32, offC: u32, slices: u32, sliceStride: u32, alpha: f32, beta: f32 }

override BETA: bool = false;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;

@compute @workgroup_size(256)
fn reduce(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
  let e = (wg.x + wg.y * nwg.x) * 256u + li;
  if (e >= P.m * P.n) {
    return;
  }
  var s = 0.0;
  for (var z = 0u; z < P.slices; z = z + 1u) {
    s = s + partial[z * P.sliceStride + e];
  }
  let i = e / P.n;
  let at = P.offC + i * P.ldc + (e - i * P.n);
  var o = P.alpha * s;
  if (BETA) {
    o = o + P.beta * C[at];
  }
  C[at] = o;
}
