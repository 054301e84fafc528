/** Text tables for stdout, Markdown for README.md, and the JSON / Markdown result files. */
import fs from 'node:fs';
import path from 'node:path';
import { adapterLabel, isSoftwareAdapter } from './gpu.js';
import type { MachineInfo } from './machine.js';
import { repoRoot } from './machine.js';
import type { PeakTable } from './peak.js';
import type { PeerRecord } from './runner.js';

export function fmtNum(x: number | undefined, digits = 3): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  return x.toPrecision(digits).replace(/\.?0+$/, (m) => (m.includes('.') ? '' : m));
}

export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function fmtErr(x: number | undefined): string {
  if (x === undefined) return '—';
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  return x.toExponential(1);
}

export function fmtRatio(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  return x >= 10 ? `${x.toFixed(0)}x` : `${x.toFixed(2)}x`;
}

/** A plain-text table with padded columns. */
export function textTable(headers: string[], rows: string[][]): string {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (c ?? '').padEnd(w[i]))
      .join(' | ')
      .trimEnd();
  return [line(headers), w.map((x) => '-'.repeat(x)).join('-|-'), ...rows.map(line)].join('\n');
}

export function mdTable(headers: string[], rows: string[][]): string {
  const esc = (s: string) => (s ?? '').replace(/\|/g, '\\|');
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

export interface Header {
  suite: string;
  quick: boolean;
  machine: MachineInfo;
  versions: Record<string, string | undefined>;
  python?: { exe: string; numpy: string; scipy: string | null; blas?: string; why: string } | null;
  pythonMissing?: string;
  addon?: { path: string; info?: Record<string, unknown>; error?: string };
  peak: PeakTable;
  peers: PeerRecord[];
}

export function adapters(peers: PeerRecord[]): string[] {
  const s = new Set<string>();
  for (const p of peers)
    if (p.meta?.adapter)
      s.add(adapterLabel(p.meta.adapter) + (isSoftwareAdapter(p.meta.adapter) ? ' [software: shaders run on the CPU]' : ''));
  return [...s];
}

export function peakLine(peak: PeakTable): string {
  if (peak.error && peak.runs.length === 0) return `n/a (${peak.error})`;
  const parts: string[] = [];
  for (const d of ['f32', 'f64'] as const)
    for (const [t, g] of Object.entries(peak.gflops[d]).sort((a, b) => +a[0] - +b[0])) parts.push(`${d} ${t}t ${fmtNum(g)}`);
  return `${parts.join(' | ')} GFLOP/s (higher of the start / end probes)${peak.error ? `; ${peak.error}` : ''}`;
}

/** Header facts (machine, versions, adapter, peak, thread counts) as [label, value] pairs. */
export function headerPairs(h: Header): [string, string][] {
  const m = h.machine;
  const v = h.versions;
  const out: [string, string][] = [
    [
      'machine',
      `${m.cpuModel}${m.cpuDetail ? ` (${m.cpuDetail})` : ''}, ${m.logicalCores} logical cores, ${m.memGiB} GiB${m.hypervisor ? `, ${m.hypervisor} guest` : ''}; ${m.platform}; host ${m.hostname} (tag ${m.tag}); ${m.date}`,
    ],
    [
      'load',
      `${m.loadAvgAtStart.join(' / ')} (1/5/15-min load average at start)${busy(m) ? ' — BUSY MACHINE: other processes compete for the cores, numbers are unreliable' : ''}`,
    ],
    [
      'software',
      `node ${m.node} | lowrank ${v.lowrank ?? '?'}${m.git ? ` (git ${m.git.commit}${m.git.dirtyFiles ? ` + ${m.git.dirtyFiles} modified files` : ''})` : ''} | webgpu ${v.webgpu ?? '—'} | tfjs ${v['@tensorflow/tfjs'] ?? '—'} (wasm ${v['@tensorflow/tfjs-backend-wasm'] ?? '—'}, webgpu ${v['@tensorflow/tfjs-backend-webgpu'] ?? '—'}) | gpu.js ${v['gpu.js'] ?? '—'} | ml-matrix ${v['ml-matrix'] ?? '—'} | tinybench ${v.tinybench ?? '—'}`,
    ],
    [
      'python',
      h.python
        ? `${h.python.exe} — numpy ${h.python.numpy}${h.python.scipy ? `, scipy ${h.python.scipy}` : ', no scipy'}${h.python.blas ? `, ${h.python.blas}` : ''} (${h.python.why})`
        : `n/a (${h.pythonMissing ?? 'not used'})`,
    ],
  ];
  if (h.addon) {
    const i = h.addon.info;
    out.push([
      'addon',
      `${h.addon.path.startsWith(repoRoot + path.sep) ? path.relative(repoRoot, h.addon.path) : h.addon.path}${i ? ` — isa ${String(i.isa)}, gemm kernel ${String(i.gemmKernel)}, ${String(i.threads)} threads` : ''}${h.addon.error ? ` — ${h.addon.error}` : ''}`,
    ]);
  }
  const ad = adapters(h.peers);
  out.push([
    'adapter',
    `${ad.length ? ad.join('; ') : 'none used'}${ad.length > 1 ? '  (WARNING: GPU peers ran on different adapters)' : ''}`,
  ]);
  out.push(['FMA peak', peakLine(h.peak)]);
  out.push([
    'threads',
    h.peers
      .filter((p) => p.status === 'ok')
      .map((p) => `${p.id}=${p.meta?.threads ?? p.threads}`)
      .join(', '),
  ]);
  return out;
}

export function headerText(h: Header): string[] {
  return headerPairs(h).map(([k, v]) => `${k.padEnd(8)}: ${v}`);
}

export function headerMd(h: Header): string[] {
  return headerPairs(h).map(([k, v]) => `- **${k}**: ${v}`);
}

/** True when the 1-minute load average at start exceeded half the cores (other work is running). */
export function busy(m: MachineInfo): boolean {
  return m.loadAvgAtStart[0] > Math.max(1, m.logicalCores / 2);
}

export function peerNotes(peers: PeerRecord[]): string[] {
  const out: string[] = [];
  for (const p of peers) {
    if (p.status !== 'ok') out.push(`${p.label}: ${p.status} — ${p.reason}`);
    else {
      const notes = [p.meta?.version, ...(p.meta?.notes ?? [])].filter(Boolean);
      if (notes.length) out.push(`${p.label}: ${notes.join('; ')}`);
    }
  }
  return out;
}

export function dateStamp(iso: string): string {
  return iso.slice(0, 10);
}

/**
 * Writes the JSON and the Markdown files; returns their paths. `jsonSuite` names the JSON file when a
 * partial run must not overwrite the day's full one (e.g. 'gemm-goal').
 */
export function writeResults(
  suite: string,
  quick: boolean,
  tag: string,
  date: string,
  json: unknown,
  md: string,
  jsonSuite = suite,
): { json: string; md: string } {
  const dir = path.join(repoRoot, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const name = quick ? `${suite}-quick` : suite;
  const jsonPath = path.join(dir, `${quick ? `${jsonSuite}-quick` : jsonSuite}-${tag}-${dateStamp(date)}.json`);
  const mdPath = path.join(dir, `${name}-latest.md`);
  fs.writeFileSync(jsonPath, JSON.stringify(json, null, 1) + '\n');
  fs.writeFileSync(mdPath, md + '\n');
  return { json: jsonPath, md: mdPath };
}

export function markers(suite: string): { start: string; end: string } {
  return { start: `<!-- lowrank-bench:${suite}:start -->`, end: `<!-- lowrank-bench:${suite}:end -->` };
}

/**
 * The marker block `<!-- lowrank-bench:<block>:start -->` ... `end -->` of an earlier run, read from
 * bench/results/<suite>[-quick]-latest.md (undefined when the file or the block is absent): a partial run
 * keeps the blocks it did not measure.
 */
export function previousBlock(suite: string, quick: boolean, block: string): string | undefined {
  const file = path.join(repoRoot, 'bench', 'results', `${quick ? `${suite}-quick` : suite}-latest.md`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const mk = markers(block);
  const a = text.indexOf(mk.start),
    b = text.indexOf(mk.end, a);
  return a >= 0 && b > a ? text.slice(a, b + mk.end.length) : undefined;
}
