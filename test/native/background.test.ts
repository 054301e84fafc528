/**
 * The addon's background runner (native/job.cc): calls estimated above ~0.5 ms run on one process-wide
 * thread, in call order, and settle on the calling environment's JS thread.
 *  - many calls in flight: each gets its own result, and they settle in call order;
 *  - libuv's pool stays free: a file-system call made behind a queue of long products completes first;
 *  - the event loop is kept alive exactly while calls are pending (a process exits on its own when idle,
 *    and does not exit before a pending call settles);
 *  - worker threads: each environment gets its own results; terminating a worker whose call is running
 *    or queued neither crashes the process nor disturbs the other environments.
 * Anything that could crash or hang runs in a child process, whose exit status is asserted.
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../ts/backends/native/addon.js';
import { mulberryFill } from '../host-linalg.js';
import { ADDON_PRELUDE, child } from './child.js';

const addon = loadAddon();

describe('background runner', () => {
  it('calls in flight each get their own result, settled in call order', async () => {
    // 300^3 f64: 5.4e7 flops, above the background threshold (5e7).
    const n = 300,
      calls = 8;
    const A = new Float64Array(n * n);
    mulberryFill(A, 11);
    const Bs = Array.from({ length: calls }, (_, i) => {
      const B = new Float64Array(n * n);
      mulberryFill(B, 100 + i);
      return B;
    });
    // References one at a time.
    const refs: Float64Array[] = [];
    for (const B of Bs) {
      const C = new Float64Array(n * n);
      await addon.gemm(A, B, C, n, n, n, false, false, 1, 0, 2);
      refs.push(C);
    }
    const outs = Bs.map(() => new Float64Array(n * n));
    const order: number[] = [];
    await Promise.all(
      Bs.map((B, i) =>
        addon.gemm(A, B, outs[i], n, n, n, false, false, 1, 0, 1 + (i % 2)).then(() => {
          order.push(i);
        }),
      ),
    );
    expect(order).toEqual(Array.from({ length: calls }, (_, i) => i));
    for (let i = 0; i < calls; i++) {
      let same = true;
      for (let j = 0; same && j < n * n; j++) same = outs[i][j] === refs[i][j];
      expect(same, `call ${i}`).toBe(true);
    }
  });

  it("a queue of long products leaves libuv's pool free (a file-system call behind them completes first)", async () => {
    // Five 1500^3 f32 products on one thread (tens of ms each) queued before an fs.stat: with the calls on
    // libuv's pool (4 threads, the products serialized by the compute lock) the stat waited for two of them.
    const r = await child(`${ADDON_PRELUDE}
      import { promises as fs } from 'node:fs';
      // Owned arrays (as the engine's stores): no argument copies, so all five are queued at once.
      const own = (a) => (addon.own(a), a);
      const n = 1500, A = own(new Float32Array(randf(n * n, 1))), B = own(new Float32Array(randf(n * n, 2)));
      const Cs = Array.from({ length: 5 }, () => own(new Float32Array(n * n)));
      const events = [];
      const jobs = Cs.map((C, i) => addon.gemm(A, B, C, n, n, n, false, false, 1, 0, 1).then(() => events.push('gemm' + i)));
      const st = fs.stat(addonFile).then(() => events.push('stat'));
      await Promise.all([...jobs, st]);
      console.log(JSON.stringify(events));
    `);
    expect({ status: r.status, signal: r.signal }, r.stderr).toEqual({ status: 0, signal: null });
    expect(r.out).toEqual(['stat', 'gemm0', 'gemm1', 'gemm2', 'gemm3', 'gemm4']);
  });

  it('an idle process exits by itself; a pending call keeps it alive until it settles', async () => {
    // No await at all: only the pending call keeps the event loop alive. Then the process must exit by
    // itself (the spawn's timeout would kill it otherwise: signal SIGTERM).
    const r = await child(
      `${ADDON_PRELUDE}
      const n = 600, A = randf(n * n, 3), B = randf(n * n, 4), C = new Float64Array(n * n);
      addon.gemm(A, B, C, n, n, n, false, false, 1, 0, 2).then(() => console.log(JSON.stringify({ settled: true, c0: Number.isFinite(C[0]) && C[0] !== 0 })));
    `,
      undefined,
      30_000,
    );
    expect({ status: r.status, signal: r.signal }, r.stderr).toEqual({ status: 0, signal: null });
    expect(r.out).toEqual({ settled: true, c0: true });
  });

  it('worker threads get their own results; terminating one with a running or queued call is safe', async () => {
    const r = await child(`${ADDON_PRELUDE}
      import { Worker } from 'node:worker_threads';
      const body = (kind) => \`
        const { parentPort } = require('node:worker_threads');
        const addon = require(\${JSON.stringify(addonFile)});
        const randf = \${randf.toString()};
        (async () => {
          if ('\${kind}' === 'compute') {
            const n = 400, A = randf(n * n, 5), B = randf(n * n, 6), C = new Float64Array(n * n);
            await addon.gemm(A, B, C, n, n, n, false, false, 1, 0, 1);
            let s = 0; for (let i = 0; i < C.length; i++) s += C[i] * (1 + (i % 7));
            parentPort.postMessage(s);
          } else {
            // a long call running, two queued behind it (~0.1 s each), then killed by the parent; the
            // interval keeps the worker alive should they all end first on a slow machine
            const n = 1500, A = randf(n * n, 7), B = randf(n * n, 8);
            for (let i = 0; i < 3; i++) addon.gemm(A, B, new Float64Array(n * n), n, n, n, false, false, 1, 0, 1);
            setInterval(() => {}, 1000);
            parentPort.postMessage('started');
          }
        })();
      \`;
      const run = (kind) => new Worker(body(kind), { eval: true, execArgv: [] });
      const checksum = async () => {
        const n = 400, A = randf(n * n, 5), B = randf(n * n, 6), C = new Float64Array(n * n);
        await addon.gemm(A, B, C, n, n, n, false, false, 1, 0, 2);
        let s = 0; for (let i = 0; i < C.length; i++) s += C[i] * (1 + (i % 7));
        return s;
      };
      const mine = await checksum();
      const w1 = run('compute'), w2 = run('compute');
      const [s1, s2] = await Promise.all([w1, w2].map((w) => new Promise((res, rej) => { w.once('message', res); w.once('error', rej); })));
      await Promise.all([w1.terminate(), w2.terminate()]);
      const w3 = run('kill');
      await new Promise((res) => w3.once('message', res));
      const during = checksum();      // queued behind the worker's calls
      const code = await w3.terminate();
      const after = await during;
      const again = await checksum();
      console.log(JSON.stringify({ same: s1 === mine && s2 === mine, code, after: after === mine, again: again === mine }));
    `);
    expect({ status: r.status, signal: r.signal }, r.stderr).toEqual({ status: 0, signal: null });
    expect(r.out).toEqual({ same: true, code: 1, after: true, again: true });
  });
});
