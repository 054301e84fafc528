/**
 * Every WebGPU program of lowrank in one table (in the style of onnxruntime-web's
 * `op-resolve-rules.ts`): the kernels in `kernels/*.ts` take their descriptors from here and never
 * declare their own. Each entry mirrors one `@compute` entry point of a file in `wgsl/`: its storage
 * bindings, the fields of the uniform struct it binds at @binding(0) (names and types, in order) and its
 * `@workgroup_size` (a number, or the name of the WGSL constant / override that sets it).
 * test/webgpu/programs.test.ts parses every WGSL file and checks each entry against its shader, and
 * compiles every pipeline, so a field out of order or a wrong workgroup size fails a test.
 *
 * Adding a program: add its WGSL entry point, add the descriptor here, use `grid(desc, n)` (program.ts)
 * for a one-invocation-per-element dispatch, and run the test.
 */
import type { ProgramDesc, StorageAccess, UniformField } from './program.js';

const u = (...names: string[]): UniformField[] => names.map((n) => [n, 'u32'] as const);

// Shared uniform layouts (one WGSL struct serving several entry points).
const EWISE = [
  ['n', 'u32'],
  ['alpha', 'f32'],
  ['beta', 'f32'],
] as const;
const REDUCE = u('rows', 'cols', 'chunk');
const CHOL = u('n', 'k0', 'bs', 'r0', 'count');
const LU = u('m', 'n', 'j', 'chunk', 'groups');
const JACOBI_SYM = [...u('n', 'np', 'round', 'slot'), ['rtol', 'f32'], ['atol', 'f32'], ['gtol', 'f32'], ['one', 'f32']] as const;
const SPMM = u('rows', 'pw', 'long_len', 'nlong');
const SPMM_BINDINGS: StorageAccess[] = ['read', 'read', 'read', 'read', 'read', 'rw', 'read'];
const SDDMM = u('nnz', 'kw');
const SDDMM_BINDINGS: StorageAccess[] = ['read', 'read', 'read', 'read', 'rw'];
const SEGMENT_GRAM = u('segs', 'k', 'srows', 'ch');
const CHOLESKY_BATCH = [...u('segs', 'k', 'has_ridge', 'inverse'), ['fallback', 'f32']] as const;
const GAUSSIAN = u('n', 'm', 'k0', 'k1', 'stream', 'b0_lo', 'b0_hi', 'r', 'chunk');
const FFT = u('rows', 'n', 'L', 'H', 'ns', 'p0', 'batch', 'has_d', 'blk');
const GEMM = [
  ...u('m', 'n', 'k', 'lda', 'ldb', 'ldc', 'offA', 'offB', 'offC', 'kChunk', 'zStride', 'tilesN', 'tiles'),
  ['alpha', 'f32'],
  ['beta', 'f32'],
] as const;
const GEMV = [
  ...u('rows', 'k', 'rs', 'cs', 'xs', 'ys', 'offM', 'offX', 'offY', 'kChunk', 'zStride'),
  ['alpha', 'f32'],
  ['beta', 'f32'],
] as const;

const fft = (entry: string, bindings: StorageAccess[]): ProgramDesc => ({
  name: `fft_${entry}`,
  file: 'fft.wgsl',
  entry,
  bindings,
  uniforms: FFT,
  workgroupSize: [256],
});

export const PROGRAMS = {
  // ---- gemm family: gemm.wgsl, gemm_gemv.wgsl, gemm_reduce.wgsl (matmul, syrk, gemv) ----
  gemm_tiled8: {
    name: 'gemm',
    file: 'gemm.wgsl',
    entry: 'tiled8',
    bindings: ['read', 'read', 'rw'],
    uniforms: GEMM,
    workgroupSize: ['WG_X', 'WG_Y'],
  },
  gemm_tiled4: {
    name: 'gemm',
    file: 'gemm.wgsl',
    entry: 'tiled4',
    bindings: ['read', 'read', 'rw'],
    uniforms: GEMM,
    workgroupSize: ['WG_X', 'WG_Y'],
  },
  gemv_cols: {
    name: 'gemm.gemv',
    file: 'gemm_gemv.wgsl',
    entry: 'cols',
    bindings: ['read', 'read', 'rw'],
    uniforms: GEMV,
    workgroupSize: [256],
  },
  gemv_rowdot: {
    name: 'gemm.gemv',
    file: 'gemm_gemv.wgsl',
    entry: 'rowdot',
    bindings: ['read', 'read', 'rw'],
    uniforms: GEMV,
    workgroupSize: [32, 8],
  },
  gemm_reduce: {
    name: 'gemm.splitk-reduce',
    file: 'gemm_reduce.wgsl',
    entry: 'reduce',
    bindings: ['read', 'rw'],
    uniforms: [...u('m', 'n', 'ldc', 'offC', 'slices', 'sliceStride'), ['alpha', 'f32'], ['beta', 'f32']],
    workgroupSize: [256],
  },

  // ---- ewise family: ewise.wgsl, transpose.wgsl (axpby, hadamard, scale; transpose) ----
  axpby: { name: 'axpby', file: 'ewise.wgsl', entry: 'axpby', bindings: ['read', 'read', 'rw'], uniforms: EWISE, workgroupSize: [256] },
  ewise_scale: {
    name: 'scale',
    file: 'ewise.wgsl',
    entry: 'scale',
    bindings: ['read', 'read', 'rw'],
    uniforms: EWISE,
    workgroupSize: [256],
  },
  hadamard: {
    name: 'hadamard',
    file: 'ewise.wgsl',
    entry: 'hadamard',
    bindings: ['read', 'read', 'rw'],
    uniforms: EWISE,
    workgroupSize: [256],
  },
  transpose: {
    name: 'transpose',
    file: 'transpose.wgsl',
    entry: 'main',
    bindings: ['read', 'rw'],
    uniforms: u('rows', 'cols'),
    workgroupSize: [16, 16],
  },

  // ---- reduce family: reduce.wgsl (norm, colNorms, rowNorms) ----
  norm: { name: 'norm', file: 'reduce.wgsl', entry: 'total', bindings: ['read', 'rw'], uniforms: REDUCE, workgroupSize: [256] },
  col_norms: { name: 'colNorms', file: 'reduce.wgsl', entry: 'cols', bindings: ['read', 'rw'], uniforms: REDUCE, workgroupSize: [256] },
  row_norms_wide: {
    name: 'rowNorms(wide)',
    file: 'reduce.wgsl',
    entry: 'rows_wide',
    bindings: ['read', 'rw'],
    uniforms: REDUCE,
    workgroupSize: [256],
  },
  row_norms_narrow: {
    name: 'rowNorms(narrow)',
    file: 'reduce.wgsl',
    entry: 'rows_narrow',
    bindings: ['read', 'rw'],
    uniforms: REDUCE,
    workgroupSize: [256],
  },

  // ---- fill / philox: fill.wgsl (full, zeros, eye, random) ----
  eye: { name: 'eye', file: 'fill.wgsl', entry: 'eye', bindings: ['rw'], uniforms: u('rows', 'cols'), workgroupSize: [256] },
  full: {
    name: 'full',
    file: 'fill.wgsl',
    entry: 'full',
    bindings: ['rw'],
    uniforms: [
      ['n', 'u32'],
      ['value', 'f32'],
    ],
    workgroupSize: [256],
  },
  random: {
    name: 'random',
    file: 'fill.wgsl',
    entry: 'random',
    bindings: ['rw'],
    uniforms: u('n', 'k0', 'k1', 'stream', 'normal', 'b0_lo', 'b0_hi', 'r'),
    workgroupSize: [256],
  },

  // ---- block family: block.wgsl (slice, concat, scaleAxis, colAbsMax, rowArgmin; the factorizations' block moves) ----
  block: {
    name: 'block',
    file: 'block.wgsl',
    entry: 'block',
    bindings: ['read', 'rw'],
    uniforms: [...u('rows', 'cols', 's_off', 'lds', 'd_off', 'ldd', 'trans', 'uplo'), ['alpha', 'f32'], ['beta', 'f32']],
    workgroupSize: [256],
  },
  scale_axis: {
    name: 'scale_axis',
    file: 'block.wgsl',
    entry: 'scale_axis',
    bindings: ['read', 'read', 'rw'],
    uniforms: u('rows', 'cols', 'by_rows'),
    workgroupSize: [256],
  },
  scale_axis_inplace: {
    name: 'scale_axis_inplace',
    file: 'block.wgsl',
    entry: 'scale_axis_inplace',
    bindings: ['read', 'rw'],
    uniforms: u('rows', 'cols', 'by_rows'),
    workgroupSize: [256],
  },
  col_absmax: {
    name: 'col_absmax',
    file: 'block.wgsl',
    entry: 'col_absmax',
    bindings: ['read', 'rw'],
    uniforms: u('rows', 'cols', 'chunk_rows', 'tiles_c', 'chunks'),
    workgroupSize: [16, 16],
  },
  row_argmin: {
    name: 'row_argmin',
    file: 'block.wgsl',
    entry: 'row_argmin',
    bindings: ['read', 'rw'],
    uniforms: u('rows', 'cols'),
    workgroupSize: [64],
  },

  // ---- internal helpers of the factorizations: util.wgsl ----
  add_diag: {
    name: 'add_diag',
    file: 'util.wgsl',
    entry: 'add_diag',
    bindings: ['rw'],
    uniforms: [...u('count', 'off', 'ld'), ['alpha', 'f32']],
    workgroupSize: [256],
  },
  col_sign: {
    name: 'col_sign',
    file: 'util.wgsl',
    entry: 'col_sign',
    bindings: ['read', 'rw'],
    uniforms: u('rows', 'cols'),
    workgroupSize: [256],
  },
  row_sign: {
    name: 'row_sign',
    file: 'util.wgsl',
    entry: 'row_sign',
    bindings: ['read', 'rw'],
    uniforms: u('rows', 'cols'),
    workgroupSize: [256],
  },
  gather_t: {
    name: 'gather_t',
    file: 'util.wgsl',
    entry: 'gather_t',
    bindings: ['read', 'read', 'read', 'rw'],
    uniforms: u('rows', 'kcols', 'lds', 'tiles_k'),
    workgroupSize: [16, 16],
  },

  // ---- cholesky: chol.wgsl ----
  chol_potrf: { name: 'chol_potrf', file: 'chol.wgsl', entry: 'potrf', bindings: ['rw', 'rw'], uniforms: CHOL, workgroupSize: [256] },
  chol_panel: { name: 'chol_panel', file: 'chol.wgsl', entry: 'panel', bindings: ['rw', 'rw'], uniforms: CHOL, workgroupSize: [64] },

  // ---- solveTriangular: solve_triangular.wgsl ----
  solve_triangular_diag: {
    name: 'solve_triangular_diag',
    file: 'solve_triangular.wgsl',
    entry: 'diag',
    bindings: ['read', 'rw', 'rw'],
    uniforms: u('n', 'nrhs', 'r0', 'bs'),
    workgroupSize: [64],
  },

  // ---- householder / qr: householder.wgsl ----
  householder_reflector: {
    name: 'householder_reflector',
    file: 'householder.wgsl',
    entry: 'reflector',
    bindings: ['rw', 'rw', 'rw'],
    uniforms: u('j', 'm'),
    workgroupSize: [256],
  },
  householder_apply: {
    name: 'householder_apply',
    file: 'householder.wgsl',
    entry: 'apply',
    bindings: ['read', 'read', 'rw'],
    uniforms: u('j', 'm', 'v_off', 'k0', 'count'),
    workgroupSize: [256],
  },
  householder_vpanel: {
    name: 'householder_vpanel',
    file: 'householder.wgsl',
    entry: 'vpanel',
    bindings: ['read', 'rw'],
    uniforms: u('j0', 'b', 'm', 'c0', 'w'),
    workgroupSize: [256],
  },
  householder_build_t: {
    name: 'householder_build_t',
    file: 'householder.wgsl',
    entry: 'build_t',
    bindings: ['read', 'read', 'rw'],
    uniforms: u('j0', 'b'),
    workgroupSize: [32],
  },

  // ---- lu: lu.wgsl ----
  lu_search: {
    name: 'lu_search',
    file: 'lu.wgsl',
    entry: 'lu_search',
    bindings: ['rw', 'read', 'read', 'rw'],
    uniforms: LU,
    workgroupSize: [256],
  },
  lu_pick: {
    name: 'lu_pick',
    file: 'lu.wgsl',
    entry: 'lu_pick',
    bindings: ['read', 'rw', 'rw', 'read'],
    uniforms: LU,
    workgroupSize: [256],
  },
  lu_update: {
    name: 'lu_update',
    file: 'lu.wgsl',
    entry: 'lu_update',
    bindings: ['rw', 'read', 'read'],
    uniforms: LU,
    workgroupSize: [256],
  },
  lu_upper: { name: 'lu_upper', file: 'lu.wgsl', entry: 'lu_upper', bindings: ['read', 'read', 'rw'], uniforms: LU, workgroupSize: [256] },
  lu_finish: {
    name: 'lu_finish',
    file: 'lu.wgsl',
    entry: 'lu_finish',
    bindings: ['rw', 'read', 'read'],
    uniforms: LU,
    workgroupSize: [256],
  },

  // ---- eigh / svd: jacobi.wgsl ----
  jacobi_sym_rot: {
    name: 'jacobi_sym_rot',
    file: 'jacobi.wgsl',
    entry: 'sym_rot',
    bindings: ['read', 'rw', 'rw'],
    uniforms: JACOBI_SYM,
    workgroupSize: [64],
  },
  jacobi_sym_apply: {
    name: 'jacobi_sym_apply',
    file: 'jacobi.wgsl',
    entry: 'sym_apply',
    bindings: ['read', 'read', 'rw', 'rw', 'rw'],
    uniforms: JACOBI_SYM,
    workgroupSize: [256],
  },
  jacobi_svd_round: {
    name: 'jacobi_svd_round',
    file: 'jacobi.wgsl',
    entry: 'svd_round',
    bindings: ['rw', 'rw', 'rw'],
    uniforms: [...u('m', 'n', 'np', 'round', 'slot'), ['tol', 'f32'], ['floor', 'f32'], ['nv', 'u32']],
    workgroupSize: ['SVD_WG'],
  },

  // ---- sparse family: sparse.wgsl (spmm), sparse_sddmm.wgsl (sddmm) ----
  spmm_rc: { name: 'spmm(row,col)', file: 'sparse.wgsl', entry: 'spmm_rc', bindings: SPMM_BINDINGS, uniforms: SPMM, workgroupSize: [256] },
  spmm_rc4: {
    name: 'spmm(row,col4)',
    file: 'sparse.wgsl',
    entry: 'spmm_rc4',
    bindings: SPMM_BINDINGS,
    uniforms: SPMM,
    workgroupSize: [256],
  },
  spmm_long: {
    name: 'spmm(long rows)',
    file: 'sparse.wgsl',
    entry: 'spmm_long',
    bindings: SPMM_BINDINGS,
    uniforms: SPMM,
    workgroupSize: [256],
  },
  sddmm_entry: {
    name: 'sddmm(entry)',
    file: 'sparse_sddmm.wgsl',
    entry: 'sddmm_entry',
    bindings: SDDMM_BINDINGS,
    uniforms: SDDMM,
    workgroupSize: [256],
  },
  sddmm_entry4: {
    name: 'sddmm(entry4)',
    file: 'sparse_sddmm.wgsl',
    entry: 'sddmm_entry4',
    bindings: SDDMM_BINDINGS,
    uniforms: SDDMM,
    workgroupSize: [256],
  },
  sddmm_coop: {
    name: 'sddmm(coop)',
    file: 'sparse_sddmm.wgsl',
    entry: 'sddmm_coop',
    bindings: SDDMM_BINDINGS,
    uniforms: SDDMM,
    workgroupSize: [256],
  },

  // ---- state-space models: ssm_vandermonde.wgsl, fft.wgsl (ssmConv), ssm_scan.wgsl ----
  ssm_vandermonde: {
    name: 'ssm_vandermonde',
    file: 'ssm_vandermonde.wgsl',
    entry: 'vandermonde',
    bindings: ['read', 'rw'],
    uniforms: u('H', 'N', 'L', 'tiles_l'),
    workgroupSize: [256],
  },
  fft_pack_pairs: fft('pack_pairs', ['read', 'rw']),
  fft_pack_real: fft('pack_real', ['read', 'rw']),
  fft_dif_global: fft('dif_global', ['rw', 'read']),
  fft_dif_local: fft('dif_local', ['rw', 'read']),
  fft_dit_global: fft('dit_global', ['rw', 'read']),
  fft_dit_local: fft('dit_local', ['rw', 'read']),
  fft_mul_channel: fft('mul_channel', ['rw', 'read']),
  fft_unpack_pairs: fft('unpack_pairs', ['read', 'read', 'read', 'rw']),
  ssm_scan: {
    name: 'ssm_scan',
    file: 'ssm_scan.wgsl',
    entry: 'scan',
    bindings: ['read', 'read', 'rw'],
    uniforms: u('R', 'H', 'N', 'L', 'chunk'),
    workgroupSize: [256],
  },

  // ---- gaussianApply / gaussianAdjoint (one family file) and sign: gaussian_apply.wgsl ----
  gaussian_apply: {
    name: 'gaussianApply',
    file: 'gaussian_apply.wgsl',
    entry: 'apply',
    bindings: ['read', 'rw'],
    uniforms: GAUSSIAN,
    workgroupSize: [256],
  },
  gaussian_adjoint_partial: {
    name: 'gaussianAdjoint(partial)',
    file: 'gaussian_apply.wgsl',
    entry: 'adjoint_partial',
    bindings: ['read', 'rw'],
    uniforms: GAUSSIAN,
    workgroupSize: [256],
  },
  gaussian_adjoint_sum: {
    name: 'gaussianAdjoint(sum)',
    file: 'gaussian_apply.wgsl',
    entry: 'adjoint_sum',
    bindings: ['read', 'rw'],
    uniforms: GAUSSIAN,
    workgroupSize: [256],
  },
  sign: { name: 'sign', file: 'gaussian_apply.wgsl', entry: 'sign_map', bindings: ['read', 'rw'], uniforms: u('n'), workgroupSize: [256] },
  // ---- adamStep: adam_step.wgsl ----
  adam_step: {
    name: 'adam_step',
    file: 'adam_step.wgsl',
    entry: 'adam_step',
    bindings: ['read', 'read', 'read', 'rw', 'rw', 'rw'],
    uniforms: [
      ['n', 'u32'],
      ['beta1', 'f32'],
      ['beta2', 'f32'],
      ['omb1', 'f32'],
      ['omb2', 'f32'],
      ['eps', 'f32'],
      ['corr', 'f32'],
    ],
    workgroupSize: [256],
  },
  // ---- fakeQuantize: fake_quantize.wgsl ----
  fake_quantize: {
    name: 'fake_quantize',
    file: 'fake_quantize.wgsl',
    entry: 'fake_quantize',
    bindings: ['read', 'rw'],
    uniforms: [...u('n', 'gs'), ['qmax', 'f32'], ...u('stochastic', 'k0', 'k1', 'stream', 'off_lo', 'off_hi')],
    workgroupSize: [256],
  },

  // ---- fwht: fwht.wgsl ----
  fwht_local: {
    name: 'fwht(local)',
    file: 'fwht.wgsl',
    entry: 'fwht_local',
    bindings: ['read', 'rw'],
    uniforms: u('L', 'b', 'T', 'h'),
    workgroupSize: [256],
  },
  fwht_stage: {
    name: 'fwht(stage)',
    file: 'fwht.wgsl',
    entry: 'fwht_stage',
    bindings: ['rw'],
    uniforms: u('L', 'b', 'T', 'h'),
    workgroupSize: [256],
  },

  // ---- segmented least squares: segment_gram.wgsl, cholesky_batch.wgsl, segment_cg.wgsl ----
  segment_gram: {
    name: 'seg_gram',
    file: 'segment_gram.wgsl',
    entry: 'seg_gram',
    bindings: ['read', 'read', 'read', 'read', 'rw'],
    uniforms: SEGMENT_GRAM,
    workgroupSize: [256],
  },
  segment_diag: {
    name: 'seg_diag',
    file: 'segment_gram.wgsl',
    entry: 'seg_diag',
    bindings: ['read', 'read', 'read', 'read', 'rw'],
    uniforms: SEGMENT_GRAM,
    workgroupSize: [256],
  },
  cholesky_batch: {
    name: 'chol_batch',
    file: 'cholesky_batch.wgsl',
    entry: 'chol_batch',
    bindings: ['read', 'read', 'rw', 'rw'],
    uniforms: CHOLESKY_BATCH,
    workgroupSize: [64],
  },
  cholesky_solve_batch: {
    name: 'chol_solve',
    file: 'cholesky_batch.wgsl',
    entry: 'chol_solve',
    bindings: ['read', 'read', 'rw'],
    uniforms: CHOLESKY_BATCH,
    workgroupSize: [64],
  },
  segment_cg: {
    name: 'seg_cg',
    file: 'segment_cg.wgsl',
    entry: 'seg_cg',
    bindings: ['read', 'read', 'read', 'read', 'read', 'read', 'read', 'rw', 'read'],
    uniforms: u('segs', 'k', 'pw', 'steps', 'has_ridge'),
    workgroupSize: [64],
  },
} as const satisfies Record<string, ProgramDesc>;

export type ProgramName = keyof typeof PROGRAMS;
