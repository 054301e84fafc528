/**
 * The CLI conventions, checked once per registered command (table-driven): --help laid out for the
 * terminal width, -V, --json (one parseable object on stdout), --quiet (nothing on stderr),
 * outputs checked before any work, a missing input in words. A command registered in commands.ts
 * without a row in CONVENTIONS fails the first test: add its row (tiny inputs only).
 *
 * Then the conventions shared through Context: dtype following the input, integer inputs, stdin
 * and sniffed formats, --out -, errors in the user's terms.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../ts/cli/commands.js';
import { main } from '../../ts/cli/main.js';
import { readNpy, readNpyHeader, writeMtx, writeNpy, writeSafetensors } from '../../ts/index.js';
import { run, suiteTempDir } from './harness.js';

const dir = suiteTempDir('lowrank-cli-conv-');
const p = (f: string) => path.join(dir, f);

/** Deterministic pseudo-random values in [-1, 1). */
function fill(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

let ready: Promise<void> | undefined;
/** Tiny inputs shared by every row (written once). */
function fixtures(): Promise<void> {
  ready ??= (async () => {
    await writeNpy(p('A.npy'), fill(24 * 6, 1), [24, 6]); // float64
    await writeNpy(p('B.npy'), fill(24 * 4, 2), [24, 4]);
    await writeNpy(p('A32.npy'), Float32Array.from(fill(24 * 6, 1)), [24, 6]);
    await writeNpy(
      p('I.npy'),
      Array.from({ length: 24 * 6 }, (_, i) => (i * 7) % 11),
      [24, 6],
      { dtype: 'i64' },
    );
    const row: number[] = [],
      col: number[] = [],
      val: number[] = [];
    const u = fill(20, 3),
      v = fill(15, 4);
    for (let i = 0; i < 20; i++)
      for (let j = 0; j < 15; j++)
        if ((i * 15 + j) % 3 !== 1) {
          row.push(i);
          col.push(j);
          val.push(u[i] * v[j] + 0.5 * u[(i + 3) % 20] * v[(j + 5) % 15]);
        }
    await writeMtx(p('S.mtx'), { kind: 'coordinate', rows: 20, cols: 15, row, col, val });
    const W = Float32Array.from(fill(16 * 12, 5));
    const Wc = W.map((x, i) => x + 0.01 * Math.sin(i));
    await writeSafetensors(p('W.safetensors'), [{ name: 'layer.weight', data: W, shape: [16, 12], dtype: 'F32' }]);
    await writeSafetensors(p('Wc.safetensors'), [{ name: 'layer.weight', data: Wc, shape: [16, 12], dtype: 'F32' }]);
    await writeNpy(p('X.npy'), fill(20 * 12, 6), [20, 12]);
    // part folders for the distributed steps (merge, finish, pass)
    const step = async (argv: string[]) => {
      const r = await run([...argv, ...N]);
      if (r.code !== 0) throw new Error(`fixture lowrank ${argv.join(' ')}: ${r.err}`);
    };
    await step(['sketch', p('A.npy'), '--row-offset', '0', '--rows-total', '24', '--rank', '2', '-o', p('part-sketch')]);
    await step(['pass', 'range', p('A.npy'), '--seed', '0', '--size', '3', '-o', p('part-range')]);
    await step(['pass', 'tsqr', p('part-range'), '-o', p('part-tsqr')]);
    await step(['pass', 'corange', p('A.npy'), '--range', p('part-range'), '--tsqr', p('part-tsqr'), '-o', p('part-corange')]);
  })();
  return ready;
}

interface Convention {
  /** Arguments (after the command name) of a cheap successful run writing into `out`. */
  ok: (out: string) => string[];
  /**
   * The output conflict: the arguments with --out `out`, and the declared output that is made a
   * folder beforehand (undefined: --out itself is an existing folder where a file is expected);
   * null when the command writes no files.
   */
  conflict: { argv: (out: string) => string[]; blocker?: string } | null;
  /** Arguments naming a missing input file; null when the command reads no file. */
  missing: string[] | null;
}

const N = ['--backend', 'native'];

/** One row per registered command. */
const CONVENTIONS: Record<string, Convention> = {
  info: { ok: () => [...N], conflict: null, missing: null },
  demo: { ok: () => ['--size', '40,20', '--rank', '3', ...N], conflict: null, missing: null },
  svd: {
    ok: (o) => [p('A.npy'), '-k', '2', '-o', o, ...N],
    conflict: { argv: (o) => [p('A.npy'), '-k', '2', '-o', o, ...N], blocker: 'U.npy' },
    missing: [p('nope.npy'), '-k', '2', '-o', p('never'), ...N],
  },
  coreset: {
    ok: (o) => [p('A.npy'), '--size', '12', '--trials', '10', '--no-refine', '-o', o, ...N],
    conflict: { argv: (o) => [p('A.npy'), '--size', '12', '-o', o, ...N], blocker: 'indices.npy' },
    missing: [p('nope.npy'), '--size', '12', '-o', p('never'), ...N],
  },
  'ssm-init': {
    ok: (o) => ['--N', '8', '-o', o, ...N],
    conflict: { argv: (o) => ['--N', '8', '-o', o, ...N], blocker: 'Lambda.npy' },
    missing: null,
  },
  recover: {
    ok: (o) => ['--n', '6', '--rank', '1', '--iters', '20', '-o', o, ...N],
    conflict: { argv: (o) => ['--n', '6', '--rank', '1', '--iters', '20', '-o', o, ...N], blocker: 'recovery.svg' },
    missing: null,
  },
  complete: {
    ok: (o) => [p('S.mtx'), '-k', '2', '--iters', '2', '-o', o, ...N],
    conflict: { argv: (o) => [p('S.mtx'), '-k', '2', '-o', o, ...N], blocker: 'U.npy' },
    missing: [p('nope.mtx'), '-k', '2', '-o', p('never'), ...N],
  },
  compress: {
    ok: (o) => [p('W.safetensors'), '--method', 'lord', '--rank', '2', '--out', path.join(o, 'c.safetensors'), ...N],
    conflict: { argv: (o) => [p('W.safetensors'), '--method', 'lord', '--rank', '2', '--out', o, ...N] },
    missing: [p('nope.safetensors'), '--method', 'lord', '--rank', '2', '--out', p('never.safetensors'), ...N],
  },
  eora: {
    ok: (o) => ['-w', p('W.safetensors'), '-c', p('Wc.safetensors'), '--acts', p('X.npy'), '--rank', '2', '--out', o, ...N],
    conflict: {
      argv: (o) => ['-w', p('W.safetensors'), '-c', p('Wc.safetensors'), '--acts', p('X.npy'), '--rank', '2', '--out', o, ...N],
      blocker: 'adapter_model.safetensors',
    },
    missing: ['-w', p('nope.safetensors'), '-c', p('Wc.safetensors'), '--acts', p('X.npy'), '--rank', '2', '--out', p('never'), ...N],
  },
  compare: { ok: () => [p('A.npy'), p('B.npy'), ...N], conflict: null, missing: [p('A.npy'), p('nope.npy'), ...N] },
  cluster: {
    ok: (o) => [p('A.npy'), '--K', '2', '--d', '2', '-o', o, ...N],
    conflict: { argv: (o) => [p('A.npy'), '--K', '2', '--d', '2', '-o', o, ...N], blocker: 'labels.npy' },
    missing: [p('nope.npy'), '--K', '2', '--d', '2', '-o', p('never'), ...N],
  },
};

// the distributed steps (integrations/dask)
Object.assign(CONVENTIONS, {
  sketch: {
    ok: (o: string) => [p('A.npy'), '--row-offset', '0', '--rows-total', '24', '--rank', '2', '-o', o, ...N],
    conflict: {
      argv: (o: string) => [p('A.npy'), '--row-offset', '0', '--rows-total', '24', '--rank', '2', '-o', o, ...N],
      blocker: 'W.npy',
    },
    missing: [p('nope.npy'), '--row-offset', '0', '--rows-total', '24', '--rank', '2', '-o', p('never'), ...N],
  },
  gram: {
    ok: (o: string) => [p('A.npy'), '-o', o, ...N],
    conflict: { argv: (o: string) => [p('A.npy'), '-o', o, ...N], blocker: 'scatter.npy' },
    missing: [p('nope.npy'), '-o', p('never'), ...N],
  },
  pass: {
    ok: (o: string) => ['range', p('A.npy'), '--seed', '0', '--size', '3', '-o', o, ...N],
    conflict: { argv: (o: string) => ['range', p('A.npy'), '--seed', '0', '--size', '3', '-o', o, ...N], blocker: 'R.npy' },
    missing: ['range', p('nope.npy'), '--seed', '0', '--size', '3', '-o', p('never'), ...N],
  },
  merge: {
    ok: (o: string) => [p('part-sketch'), '-o', o, ...N],
    conflict: { argv: (o: string) => [p('part-sketch'), '-o', o, ...N], blocker: 'W.npy' },
    missing: [p('nope.part'), '-o', p('never'), ...N],
  },
  finish: {
    ok: (o: string) => [p('part-corange'), '--rank', '2', '-o', o, ...N],
    conflict: { argv: (o: string) => [p('part-corange'), '--rank', '2', '-o', o, ...N], blocker: 'S.npy' },
    missing: [p('nope.part'), '--rank', '2', '-o', p('never'), ...N],
  },
  // serve reads requests on stdin: in-process runs without stdin get an empty one (no requests)
  serve: { ok: () => [], conflict: null, missing: null },
} satisfies Record<string, Convention>);

const names = COMMANDS.map(([n]) => n);

describe('CLI conventions, per command', () => {
  it('every registered command has a row in CONVENTIONS (add one for a new command)', () => {
    expect(names.filter((n) => !(n in CONVENTIONS))).toEqual([]);
    expect(Object.keys(CONVENTIONS).filter((n) => !names.includes(n))).toEqual([]);
  });

  let k = 0;
  describe.each(names.filter((n) => n in CONVENTIONS))('%s', (name) => {
    const c = CONVENTIONS[name];
    const fresh = () => {
      const d = p(`${name}-${k++}`);
      mkdirSync(d, { recursive: true }); // an existing, empty output folder
      return d;
    };

    it('--help fits the terminal width (COLUMNS 50, 80, 100)', async () => {
      for (const width of [50, 80, 100]) {
        const r = await run([name, '--help'], { COLUMNS: String(width) });
        expect(r.code).toBe(0);
        const long = r.out.split('\n').filter((l) => l.length > width);
        expect(long, `COLUMNS=${width}`).toEqual([]);
        const tables = r.out.split(/\n\n/).filter((b) => /^(Global options|Options):/.test(b));
        for (const t of tables)
          expect(
            t
              .split('\n')
              .slice(1)
              .filter((l) => !/^ {2}/.test(l)),
            'flag rows keep their indent',
          ).toEqual([]);
      }
    });

    it('-V and --version print the version', async () => {
      for (const f of ['-V', '--version']) {
        const r = await run([name, f]);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
      }
    });

    it('--json prints one parseable object on stdout; --quiet leaves stderr empty', async () => {
      await fixtures();
      const j = await run([name, ...c.ok(fresh()), '--json']);
      expect(j.code, j.err).toBe(0);
      const o = JSON.parse(j.out) as Record<string, unknown>;
      expect(o).toMatchObject({ command: name, ok: true });
      if (c.conflict) expect((o.outputs as string[]).length).toBeGreaterThan(0);
      const q = await run([name, ...c.ok(fresh()), '--quiet']);
      expect(q.code, q.err).toBe(0);
      expect(q.err).toBe('');
    }, 30_000);

    it('outputs are checked before any work (an output that is a folder)', async () => {
      if (!c.conflict) return; // writes no files
      await fixtures();
      const out = fresh();
      mkdirSync(c.conflict.blocker ? path.join(out, c.conflict.blocker) : out, { recursive: true });
      const r = await run([name, ...c.conflict.argv(out)]);
      expect(r.code).not.toBe(0);
      expect(r.err.split('\n')[0]).toMatch(/is a folder/);
      expect(r.err).not.toMatch(/EISDIR|ENOENT/);
      expect(readdirSync(out)).toEqual(c.conflict.blocker ? [c.conflict.blocker] : []); // nothing written
    });

    it('a missing input file: one line in words, exit 1', async () => {
      if (!c.missing) return; // reads no file
      await fixtures();
      const r = await run([name, ...c.missing]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^lowrank [\w-]+: no such file or folder: \S*nope\.\w+\n$/);
    });
  });
});

/** Runs the CLI with bytes on stdin, capturing stdout as bytes. */
async function runPiped(argv: string[], stdin: Uint8Array): Promise<{ code: number; out: Buffer; err: string }> {
  const out: Buffer[] = [];
  let err = '';
  const code = await main(argv, {
    stdout: { write: (s: string | Uint8Array) => out.push(Buffer.from(s)) },
    stderr: { write: (s: string | Uint8Array) => (err += String(s)) },
    env: {},
    stdin: (async function* () {
      yield stdin.subarray(0, 7); // the magic split across chunks
      yield stdin.subarray(7);
    })(),
  });
  return { code, out: Buffer.concat(out), err };
}

describe('CLI conventions shared through Context', () => {
  it('the dtype follows the input: f64 in, f64 out; f32 and integers -> f32 (one note); --dtype wins', async () => {
    await fixtures();
    const cases: [string, string[], 'f32' | 'f64', RegExp | null][] = [
      ['A.npy', [], 'f64', null],
      ['A32.npy', [], 'f32', null],
      ['I.npy', [], 'f32', /^note: I\.npy: int64 values converted to float32 \(give --dtype f64 to compute in float64\)$/],
      ['A.npy', ['--dtype', 'f32'], 'f32', null],
      ['I.npy', ['--dtype', 'f64'], 'f64', /^note: I\.npy: int64 values converted to float64$/],
      ['S.mtx', [], 'f64', null], // Matrix Market real is text: float64, as numpy / scipy read it
    ];
    for (const [file, extra, dtype, note] of cases) {
      const out = p(`dt-${file}-${extra.join('')}`);
      // relative input paths (as the user types them) resolve against cwd: run in the fixtures folder
      let err = '';
      const code = await main(['svd', file, '-k', '2', '-o', out, ...N, ...extra], {
        stdout: { write: () => true },
        stderr: { write: (s) => (err += String(s)) },
        env: { LOWRANK_PROGRESS: '0' },
        cwd: dir,
      });
      expect(code, err).toBe(0);
      for (const f of ['U.npy', 'S.npy', 'V.npy']) expect((await readNpyHeader(path.join(out, f))).dtype, `${file} ${f}`).toBe(dtype);
      const lines = err.split('\n').filter(Boolean);
      if (note) {
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(note);
      } else expect(lines).toEqual([]);
    }
  });

  it("'-' reads stdin (format sniffed, or --format); odd extensions are sniffed; --out - is refused for folders", async () => {
    await fixtures();
    const { readFile, copyFile } = await import('node:fs/promises');
    const bytes = await readFile(p('A.npy'));
    const r = await runPiped(['svd', '-', '-k', '2', '-o', p('stdin-out'), ...N, '--json'], bytes);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out.toString())).toMatchObject({ command: 'svd', inputs: ['-'], dtype: 'f64', rows: 24, cols: 6 });
    const mtx = await readFile(p('S.mtx'));
    const m = await runPiped(['svd', '-', '-k', '2', '-o', p('stdin-mtx'), '--format', 'mtx', ...N, '--quiet'], mtx);
    expect(m.code, m.err).toBe(0);
    const bad = await runPiped(['svd', '-', '-k', '2', '-o', p('stdin-bad'), ...N], Buffer.from('1,2\n3,4\n'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/cannot tell the format of stdin.*--format npy/);
    await copyFile(p('A.npy'), p('A.bin'));
    const odd = await run(['svd', p('A.bin'), '-k', '2', '-o', p('odd-out'), ...N, '--quiet']);
    expect(odd.code, odd.err).toBe(0);
    const dash = await run(['svd', p('A.npy'), '-k', '2', '-o', '-', ...N]);
    expect(dash.code).toBe(2);
    expect(dash.err).toMatch(
      /--out - \(stdout\) is for a single output file; svd writes U\.npy, S\.npy, V\.npy, spectrum\.svg into a folder/,
    );
  });

  it('compress --out - writes the .safetensors file to stdout and its report to stderr', async () => {
    await fixtures();
    const { readFile } = await import('node:fs/promises');
    const argv = ['compress', p('W.safetensors'), '--method', 'lord', '--rank', '2', ...N];
    const toFile = await run([...argv, '--out', p('c-file.safetensors')]);
    expect(toFile.code, toFile.err).toBe(0);
    const piped = await runPiped([...argv, '--out', '-'], new Uint8Array(0));
    expect(piped.code, piped.err).toBe(0);
    expect(piped.out.equals(await readFile(p('c-file.safetensors')))).toBe(true);
    expect(piped.err).toMatch(/1 of 1 selected tensors factorized/);
    const both = await run([...argv, '--out', '-', '--json']);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--out - and --json both write to stdout/);
  });

  it('errors in the user terms: (row, column) 1-based, .mtx line numbers, the option as typed, no internal names', async () => {
    await fixtures();
    const a = fill(24 * 6, 1);
    a[13 * 6 + 4] = NaN;
    await writeNpy(p('nan.npy'), a, [24, 6]);
    const r = await run(['svd', p('nan.npy'), '-k', '2', '-o', p('nan-out'), ...N]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^lowrank svd: \S*nan\.npy: the value at row 14, column 5 \(1-based\) is NaN; NaN and infinities are not accepted\n$/,
    );
    writeFileSync(p('nan.mtx'), '%%MatrixMarket matrix coordinate real general\n% c\n3 3 3\n1 1 1\n2 2 nan\n3 3 1\n');
    const m = await run(['svd', p('nan.mtx'), '-k', '1', '-o', p('nanm-out'), ...N]);
    expect(m.code).toBe(1);
    expect(m.err).toMatch(/nan\.mtx: line 5: value "nan" is not finite/);
    expect(m.err).not.toMatch(/val\[|sparse:|matrix:/);
    const typed = await run(['coreset', p('A.npy'), '-m', '0', '-o', p('x')]);
    expect(typed.err).toMatch(/^lowrank coreset: -m must be >= 1, got 0/);
    const folder = await run(['svd', dir, '-k', '2', '-o', p('y')]);
    expect(folder.err).toMatch(/is a folder, not a matrix file\n$/);
    expect(folder.err).not.toMatch(/EISDIR/);
  });

  it('--backend webgpu with a float64 input: refused before any work, saying what to do', async () => {
    await fixtures();
    const r = await run(['svd', p('A.npy'), '-k', '2', '-o', p('wg'), '--backend', 'webgpu']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/A\.npy holds float64 values and --backend webgpu computes in f32 only: add --dtype f32/);
  });

  it('coreset: int64 indices, a warning when --size is below the columns', async () => {
    await fixtures();
    const out = p('cs');
    const r = await run(['coreset', p('A.npy'), '--size', '4', '--trials', '10', '--no-refine', '-o', out, ...N], {
      LOWRANK_PROGRESS: '0',
    });
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^warning: --size 4 is below the 6 columns/m);
    const h = await readNpyHeader(path.join(out, 'indices.npy'));
    expect(h.descr).toBe('<i8');
    const w = await readNpyHeader(path.join(out, 'weights.npy'));
    expect(w.dtype).toBe('f64'); // the input's dtype
  });

  it('svd --center writes mean.npy, the column means', async () => {
    await fixtures();
    const out = p('center');
    const r = await run(['svd', p('A.npy'), '-k', '2', '--center', '-o', out, ...N, '--quiet']);
    expect(r.code, r.err).toBe(0);
    const mu = await readNpy(path.join(out, 'mean.npy'));
    const a = fill(24 * 6, 1);
    for (let j = 0; j < 6; j++) {
      let s = 0;
      for (let i = 0; i < 24; i++) s += a[i * 6 + j];
      expect(Math.abs(mu.data[j] - s / 24)).toBeLessThan(1e-15 * 24);
    }
  });

  it('recover refuses a default m that would run for many minutes, before any work', async () => {
    const r = await run(['recover', '--n', '20', '--rank', '2', '--outliers', '0.99', '--iters', '10', '--storage', 'matrix-free', ...N]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/4000000 Gaussian measurements .*refused: give --m M explicitly/);
  });
});
