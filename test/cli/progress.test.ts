/** The CLI progress bar. */
import { describe, expect, it } from 'vitest';
import { Progress, activity, fmtClock, fmtCount } from '../../ts/cli/progress.js';
import { Context } from '../../ts/cli/context.js';
import { parseArgs } from '../../ts/cli/args.js';

function sink(isTTY: boolean, columns = 80) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns, write: (s: string) => chunks.push(s) }, text: () => chunks.join('') };
}

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('progress', () => {
  it('formats clocks and counts', () => {
    expect(fmtClock(0)).toBe('0:00');
    expect(fmtClock(65)).toBe('1:05');
    expect(fmtClock(3723)).toBe('1:02:03');
    expect(fmtClock(NaN)).toBe('--:--');
    expect(fmtCount(950)).toBe('950');
    expect(fmtCount(12345)).toBe('12.3k');
    expect(fmtCount(4.5e6)).toBe('4.5M');
    expect(fmtCount(2.5)).toBe('2.50');
  });

  it('redraws one line in place on a TTY, throttled, with rate and ETA', () => {
    const s = sink(true, 70);
    const c = clock();
    const bar = new Progress({ total: 200, label: 'pass 1', unit: 'blocks', stream: s.stream, now: c.now, redrawMs: 100 });
    c.advance(1000);
    bar.tick(50); // 50 blocks/s, 3 s left
    const first = s.text();
    expect(first.startsWith('\r')).toBe(true);
    expect(first).toContain('\x1b[K');
    expect(first).toMatch(/pass 1 \[#+\.+\] {2}25% 50\/200 {2}50 blocks\/s {2}ETA 0:03/);
    bar.tick(1); // within 100 ms: not redrawn
    expect(s.chunks.length).toBe(1);
    c.advance(150);
    bar.tick(1);
    expect(s.chunks.length).toBe(2);
    for (const chunk of s.chunks) {
      const visible = chunk.replace('\r', '').replace('\x1b[K', '');
      expect(visible.length).toBeLessThan(70);
      expect(chunk).not.toContain('\n');
    }
    bar.log('a message');
    expect(s.chunks[2]).toBe('\r\x1b[Ka message\n');
    c.advance(2850);
    bar.finish();
    const last = s.chunks[s.chunks.length - 1];
    expect(last).toMatch(/^\r\x1b\[Kpass 1: done 200\/200 blocks in 0:04 \(50 blocks\/s\)\n$/);
    bar.tick(); // after finish: nothing
    bar.finish();
    expect(s.chunks[s.chunks.length - 1]).toBe(last);
  });

  it('prints occasional plain lines without a TTY', () => {
    const s = sink(false);
    const c = clock();
    const bar = new Progress({ total: 1000, label: 'load', stream: s.stream, now: c.now, plainIntervalMs: 10_000 });
    for (let i = 0; i < 1000; i++) {
      c.advance(10); // 10 s in total
      bar.tick();
    }
    bar.finish();
    const text = s.text();
    expect(text).not.toContain('\r');
    expect(text).not.toContain('\x1b');
    const lines = text.trimEnd().split('\n');
    // one line per further tenth at most once a second, plus the summary
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(lines.length).toBeLessThanOrEqual(11);
    expect(lines[0]).toMatch(/^load +\d+% \d+\/1k/);
    expect(lines[lines.length - 1]).toBe('load: done 1k/1k it in 0:10 (100 it/s)');
  });

  it('plain mode with an unknown total prints on the interval only', () => {
    const s = sink(false);
    const c = clock();
    const bar = new Progress({ stream: s.stream, now: c.now, plainIntervalMs: 5000, unit: 'rows' });
    for (let i = 0; i < 100; i++) {
      c.advance(100);
      bar.tick(1000);
    }
    const lines = s.text().trimEnd().split('\n');
    expect(lines.length).toBe(2); // at 5 s and 10 s
    expect(lines[0]).toMatch(/^50k rows {2}10k rows\/s {2}0:05$/);
    expect(bar.eta()).toBeUndefined();
  });

  it('can be disabled, and clear() removes the bar', () => {
    const s = sink(true);
    const bar = new Progress({ total: 10, stream: s.stream, enabled: false });
    bar.tick(5);
    bar.log('x');
    bar.finish();
    expect(s.chunks).toEqual([]);
    const t = sink(true);
    const c = clock();
    const b2 = new Progress({ total: 10, stream: t.stream, now: c.now });
    c.advance(500);
    b2.tick(5);
    b2.clear();
    expect(t.chunks[t.chunks.length - 1]).toBe('\r\x1b[K');
  });

  it('the CLI context puts progress on stderr, never stdout', () => {
    const out = sink(false),
      err = sink(true);
    const ctx = new Context('x', parseArgs([], []), { stdout: out.stream, stderr: err.stream, env: {} });
    const bar = ctx.progress({ total: 3, label: 'x' });
    bar.tick(3);
    bar.finish();
    expect(out.chunks).toEqual([]);
    expect(err.text()).toContain('done 3/3');
    const quiet = sink(true);
    const ctx2 = new Context('x', parseArgs([], []), { stdout: out.stream, stderr: quiet.stream, env: { LOWRANK_PROGRESS: '0' } });
    ctx2.progress({ total: 1 }).finish();
    expect(quiet.chunks).toEqual([]);
  });

  it('activity shows elapsed time on a TTY only and erases itself', async () => {
    const s = sink(true);
    const c = clock();
    const a = activity('svd: running', { stream: s.stream, now: c.now, intervalMs: 5 });
    expect(s.chunks[0]).toBe('\rsvd: running 0:00\x1b[K');
    c.advance(61_000);
    await new Promise((r) => setTimeout(r, 30));
    expect(s.chunks.length).toBeGreaterThan(1);
    expect(s.chunks[s.chunks.length - 1]).toBe('\rsvd: running 1:01\x1b[K');
    a.stop();
    a.stop();
    const n = s.chunks.length;
    expect(s.chunks[n - 1]).toBe('\r\x1b[K');
    await new Promise((r) => setTimeout(r, 20));
    expect(s.chunks.length).toBe(n); // the timer is gone
    const plain = sink(false);
    activity('x', { stream: plain.stream }).stop();
    expect(plain.chunks).toEqual([]);
  });
});
