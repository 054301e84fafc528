// out (cols x rows) = x^T (x is rows x cols), through a 16 x 17 padded workgroup tile.

struct Params { rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> tile: array<array<f32, 17>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = wg.y * 16u + lid.y;
  let c = wg.x * 16u + lid.x;
  if (r < P.rows && c < P.cols) {
    tile[lid.y][lid.x] = x[r * P.cols + c];
  }
  workgroupBarrier();
  let orow = wg.x * 16u + lid.y; // row of out = column of x
  let ocol = wg.y * 16u + lid.x;
  if (orow < P.cols && ocol < P.rows) {
    out[orow * P.rows + ocol] = tile[lid.x][lid.y];
  }
}
