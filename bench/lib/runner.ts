/**
 * Runs a list of peers over a list of cases with isolation: a peer that is unavailable, fails to set
 * up, throws, or times out is recorded with the reason and the suite goes on. Every peer is disposed
 * (a live Dawn device keeps a CPU core busy) before the next one starts. Progress goes to stderr.
 */
import { Unsupported, type CaseContext, type Peer, type PeerMeta } from './peer.js';
import { TimeoutError, withTimeout, type TimingOptions } from './timing.js';

export interface PeerRecord {
  id: string;
  label: string;
  kind: 'cpu' | 'gpu';
  threads: number;
  lowrank: boolean;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  meta?: PeerMeta;
}

export interface CaseRecord<R> {
  peer: string;
  key: string;
  status: 'ok' | 'n/a' | 'skipped';
  reason?: string;
  result?: R;
  elapsedMs: number;
}

let t0 = performance.now();

export function resetClock(): void {
  t0 = performance.now();
}

export function progress(suite: string, msg: string): void {
  const s = Math.round((performance.now() - t0) / 1000);
  const stamp = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  process.stderr.write(`[${suite} ${stamp}] ${msg}\n`);
}

export function errMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s+/g, ' ').trim().slice(0, 300);
}

export interface SuiteRun<C, R> {
  suite: string;
  peers: Peer[];
  cases: C[];
  key(c: C): string;
  exec(peer: Peer, c: C, ctx: CaseContext): Promise<R>;
  /** A one-line summary of a result for the progress log. */
  summary(r: R): string;
  /** Returns a reason to skip a case before running it (e.g. predicted to exceed --max-run). */
  preSkip?(peer: Peer, c: C, done: CaseRecord<R>[]): string | undefined;
  timing: TimingOptions;
  quick: boolean;
}

export async function runSuite<C, R>(s: SuiteRun<C, R>): Promise<{ peers: PeerRecord[]; cases: CaseRecord<R>[] }> {
  const peers: PeerRecord[] = [];
  const cases: CaseRecord<R>[] = [];
  const log = (m: string) => progress(s.suite, m);
  const ctx: CaseContext = { timing: s.timing, quick: s.quick, log };
  const hard = s.timing.capMs * 2 + 60_000;

  for (const peer of s.peers) {
    const rec: PeerRecord = {
      id: peer.id,
      label: peer.label,
      kind: peer.kind,
      threads: peer.threads,
      lowrank: !!peer.lowrank,
      status: 'ok',
    };
    peers.push(rec);
    const skipAll = (status: 'n/a' | 'skipped', reason: string) => {
      for (const c of s.cases) cases.push({ peer: peer.id, key: s.key(c), status, reason, elapsedMs: 0 });
    };
    let avail;
    try {
      avail = await withTimeout(peer.available(), 120_000, `${peer.id} availability check`);
    } catch (e) {
      avail = { ok: false as const, reason: errMessage(e) };
    }
    if (!avail.ok) {
      rec.status = 'skipped';
      rec.reason = avail.reason;
      log(`${peer.id}: skipped — ${avail.reason}`);
      skipAll('skipped', avail.reason);
      continue;
    }
    log(`${peer.id}: setting up`);
    try {
      rec.meta = await withTimeout(peer.setup(ctx), 300_000, `${peer.id} setup`);
      rec.threads = peer.threads;
    } catch (e) {
      rec.status = 'failed';
      rec.reason = errMessage(e);
      log(`${peer.id}: setup failed — ${rec.reason}`);
      skipAll('n/a', `setup failed: ${rec.reason}`);
      await disposeQuietly(peer, log);
      continue;
    }
    let broken: string | null = null;
    for (const c of s.cases) {
      const key = s.key(c);
      const start = performance.now();
      if (broken) {
        cases.push({ peer: peer.id, key, status: 'n/a', reason: broken, elapsedMs: 0 });
        continue;
      }
      const pre = s.preSkip?.(
        peer,
        c,
        cases.filter((x) => x.peer === peer.id),
      );
      if (pre) {
        cases.push({ peer: peer.id, key, status: 'skipped', reason: pre, elapsedMs: 0 });
        log(`${peer.id} ${key}: skipped — ${pre}`);
        continue;
      }
      try {
        const r = await withTimeout(s.exec(peer, c, ctx), hard, `${peer.id} ${key}`);
        const rec2: CaseRecord<R> = { peer: peer.id, key, status: 'ok', result: r, elapsedMs: performance.now() - start };
        cases.push(rec2);
        log(`${peer.id} ${key}: ${s.summary(r)}`);
      } catch (e) {
        const unsupported = e instanceof Unsupported;
        const reason = errMessage(e);
        cases.push({ peer: peer.id, key, status: unsupported ? 'skipped' : 'n/a', reason, elapsedMs: performance.now() - start });
        log(`${peer.id} ${key}: ${unsupported ? 'skipped' : 'n/a'} — ${reason}`);
        if (e instanceof TimeoutError) broken = `not run: an earlier case of this peer timed out (${reason})`;
      }
    }
    await disposeQuietly(peer, log);
  }
  return { peers, cases };
}

async function disposeQuietly(peer: Peer, log: (m: string) => void): Promise<void> {
  try {
    await withTimeout(peer.dispose(), 60_000, `${peer.id} dispose`);
  } catch (e) {
    log(`${peer.id}: dispose failed — ${errMessage(e)}`);
  }
}
