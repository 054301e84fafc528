/**
 * ml-matrix: pure JavaScript, f64 (JS numbers in Float64Array rows), one thread. GEMM is `A.mmul(B)`;
 * factorizations are QrDecomposition, SingularValueDecomposition, EigenvalueDecomposition and solve().
 * Its GEMM figures are f64 and so are compared against the f64 FMA peak.
 */
import { asDtype, gemmInputs } from '../lib/data.js';
import { eighAccuracy, gemmSpotCheck, lstsqAccuracy, qrAccuracy, svdAccuracy } from '../lib/linalg.js';
import { pkgVersion } from '../lib/machine.js';
import {
  Unsupported,
  type Availability,
  type CaseContext,
  type DType,
  type DecompCaseResult,
  type DecompInput,
  type DecompOp,
  type GemmCaseResult,
  type Peer,
  type PeerMeta,
} from '../lib/peer.js';
import { timeCase } from '../lib/timing.js';

type MlMatrix = typeof import('ml-matrix');
type M = InstanceType<MlMatrix['Matrix']>;

function flat(X: M): Float64Array {
  const out = new Float64Array(X.rows * X.columns);
  for (let i = 0; i < X.rows; i++) out.set(X.getRow(i), i * X.columns);
  return out;
}

function fromFlat(lib: MlMatrix, x: ArrayLike<number>, rows: number, cols: number): M {
  const X = new lib.Matrix(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) X.set(i, j, x[i * cols + j]);
  return X;
}

export class MlMatrixPeer implements Peer {
  readonly id = 'ml-matrix';
  readonly label = 'ml-matrix (pure JS, f64)';
  readonly kind = 'cpu' as const;
  readonly threads = 1;
  readonly pilot = true;
  private lib: MlMatrix | null = null;

  async available(): Promise<Availability> {
    try {
      this.lib = (await import('ml-matrix')) as unknown as MlMatrix;
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: `ml-matrix does not load: ${(e as Error).message}` };
    }
  }

  async setup(): Promise<PeerMeta> {
    return {
      version: `ml-matrix ${pkgVersion('ml-matrix') ?? '?'}`,
      threads: 1,
      notes: ['computes in f64 (JS numbers) on one thread; % of peak is relative to the f64 1-thread peak'],
    };
  }

  async gemm(n: number, ctx: CaseContext): Promise<GemmCaseResult> {
    const lib = this.lib!;
    const { A, B } = gemmInputs(n);
    const Am = fromFlat(lib, A, n, n),
      Bm = fromFlat(lib, B, n, n);
    const { timing, acc } = await timeCase(
      async () => Am.mmul(Bm),
      () => undefined,
      (C) => gemmSpotCheck(A, B, n, (i, j) => C.get(i, j)),
      ctx.timing,
    );
    return { completion: 'host', timing, relErr: acc, dtype: 'f64', note: 'A.mmul(B) in f64' };
  }

  async decomp(op: DecompOp, dtype: DType, input: DecompInput, ctx: CaseContext): Promise<DecompCaseResult> {
    if (dtype !== 'f64') throw new Unsupported('ml-matrix computes in f64 only');
    const lib = this.lib!;
    const { m, n } = input;
    const A0 = asDtype(input.A, 'f64');
    const A = fromFlat(lib, A0, m, n),
      b = fromFlat(lib, input.b, m, 1),
      G = fromFlat(lib, input.G, n, n);
    const none = (): undefined => undefined;
    switch (op) {
      case 'qr': {
        const r = await timeCase(
          async () => {
            const qr = new lib.QrDecomposition(A);
            return { Q: qr.orthogonalMatrix, R: qr.upperTriangularMatrix };
          },
          none,
          (f) => {
            // ml-matrix may return Q as m x m / R as m x n; keep the thin parts
            const Q = f.Q.subMatrix(0, m - 1, 0, n - 1),
              R = f.R.subMatrix(0, n - 1, 0, n - 1);
            return qrAccuracy(A0, m, n, flat(Q), flat(R));
          },
          ctx.timing,
        );
        return { completion: 'host', ...r, method: 'new QrDecomposition(A); orthogonalMatrix, upperTriangularMatrix' };
      }
      case 'svd': {
        const r = await timeCase(
          async () => {
            const s = new lib.SingularValueDecomposition(A, { autoTranspose: true });
            return { U: s.leftSingularVectors, S: s.diagonal, V: s.rightSingularVectors };
          },
          none,
          (f) => {
            const U = f.U.subMatrix(0, m - 1, 0, n - 1),
              V = f.V.subMatrix(0, n - 1, 0, n - 1);
            return svdAccuracy(A0, m, n, flat(U), f.S.slice(0, n), flat(V), n);
          },
          ctx.timing,
        );
        return { completion: 'host', ...r, method: 'new SingularValueDecomposition(A, { autoTranspose: true })' };
      }
      case 'eigh': {
        const r = await timeCase(
          async () => {
            const e = new lib.EigenvalueDecomposition(G, { assumeSymmetric: true });
            return { values: e.realEigenvalues, V: e.eigenvectorMatrix };
          },
          none,
          (f) => eighAccuracy(input.G, n, f.values, flat(f.V)),
          ctx.timing,
        );
        return { completion: 'host', ...r, method: 'new EigenvalueDecomposition(G, { assumeSymmetric: true }), G = A^T A' };
      }
      case 'lstsq': {
        const r = await timeCase(
          async () => lib.solve(A, b),
          none,
          (X) => lstsqAccuracy(A0, m, n, input.b, flat(X)),
          ctx.timing,
        );
        return { completion: 'host', ...r, method: 'solve(A, b) (QR for non-square A), b m x 1' };
      }
      case 'lu':
        throw new Unsupported('ml-matrix LuDecomposition is not compared (square-oriented, no permute_l form)');
    }
  }

  async dispose(): Promise<void> {
    this.lib = null;
  }
}
