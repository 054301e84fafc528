// Fast Walsh-Hadamard transform (unnormalised, Sylvester order) of every column of a row-major
// L x b matrix, L a power of two: y = H_L x per column, H_1 = [1], H_2L = [[H, H], [H, -H]].
//
// The radix-2 stages (half-width h = 1, 2, ..., L/2) commute (H_L is a Kronecker power of H_2), so
// they may run in any order: `fwht_local` copies x to y while running every stage with h < T on
// blocks of T consecutive rows of one column in workgroup memory (T = min(L, 2048), a power of two),
// then `fwht_stage` runs each remaining stage h = T, 2T, ..., L/2 in place, one butterfly per
// invocation.

struct FwhtParams { L: u32, b: u32, T: u32, h: u32 }

@group(0) @binding(0) var<uniform> PF: FwhtParams;
@group(0) @binding(1) var<storage, read> f_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> f_y: array<f32>;

var<workgroup> f_s: array<f32, 2048>;

// One workgroup per (block of T rows, column): workgroup w = block * b + column.
@compute @workgroup_size(256)
fn fwht_local(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let w = wg.x + wg.y * nwg.x;
  let t = PF.T;
  let blocks = PF.L / t;
  let inRange = w < blocks * PF.b;
  let col = w % PF.b;
  let row0 = (w / PF.b) * t;
  if (inRange) {
    for (var i = li; i < t; i = i + 256u) {
      f_s[i] = f_x[(row0 + i) * PF.b + col];
    }
  }
  workgroupBarrier();
  for (var h = 1u; h < t; h = h * 2u) {
    if (inRange) {
      for (var q = li; q < t / 2u; q = q + 256u) {
        let i = (q / h) * 2u * h + (q % h);
        let a = f_s[i];
        let c = f_s[i + h];
        f_s[i] = a + c;
        f_s[i + h] = a - c;
      }
    }
    workgroupBarrier();
  }
  if (inRange) {
    for (var i = li; i < t; i = i + 256u) {
      f_y[(row0 + i) * PF.b + col] = f_s[i];
    }
  }
}

struct FwhtStageParams { L: u32, b: u32, T: u32, h: u32 }

@group(0) @binding(0) var<uniform> PG: FwhtStageParams;
@group(0) @binding(1) var<storage, read_write> g_y: array<f32>;

// One butterfly (rows i and i + h of one column) per invocation; (L / 2) b invocations.
@compute @workgroup_size(256)
fn fwht_stage(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let p = (wg.x + wg.y * nwg.x) * 256u + li;
  if (p >= (PG.L / 2u) * PG.b) {
    return;
  }
  let col = p % PG.b;
  let q = p / PG.b;
  let h = PG.h;
  let i = (q / h) * 2u * h + (q % h);
  let a = g_y[i * PG.b + col];
  let c = g_y[(i + h) * PG.b + col];
  g_y[i * PG.b + col] = a + c;
  g_y[(i + h) * PG.b + col] = a - c;
}
