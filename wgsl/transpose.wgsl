// out (cols x rows) = x^T (x is rows x cols), through a 16 x 17 padded workgroup tile.
// Tiles are numbered linearly (tile = wg.x + wg.y * nwg.x, tilesX = ceil(cols / 16) per tile row)
// so the host can fold grids larger than 65535 in one dimension (a 2M x 1 vector has 125 000 tiles).

struct Params { rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> tile: array<array<f32, 17>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let tilesX = (P.cols + 15u) / 16u;
  let t = wg.x + wg.y * nwg.x;
  if (t >= tilesX * ((P.rows + 15u) / 16u)) {
    return; // uniform per workgroup, before the barrier
  }
  let ty = t / tilesX;
  let tx = t - ty * tilesX;
  let r = ty * 16u + lid.y;
  let c = tx * 16u + lid.x;
  if (r < P.rows && c < P.cols) {
    tile[lid.y][lid.x] = x[r * P.cols + c];
  }
  workgroupBarrier();
  let orow = tx * 16u + lid.y; // row of out = column of x
  let ocol = ty * 16u + lid.x;
  if (orow < P.cols && ocol < P.rows) {
    out[orow * P.rows + ocol] = tile[lid.x][lid.y];
  }
}
