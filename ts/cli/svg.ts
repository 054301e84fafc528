/**
 * A dependency-free SVG plot writer for CLI reports (singular value spectra, convergence curves):
 * several line and/or scatter series, linear or log-scale axes, ticks, axis labels, grid, legend
 * and title. Non-finite points (and non-positive ones on a log axis) are skipped; lines break there.
 *
 * @example
 * ```ts
 * const svg = plotSvg([{ name: 'sigma', y: S }], { title: 'Spectrum', xLabel: 'index', yLabel: 'sigma_i', logY: true });
 * await writeFile('spectrum.svg', svg);
 * ```
 */
import { writeFile } from 'node:fs/promises';

export interface PlotSeries {
  /** Legend entry; series without a name are not listed. */
  name?: string;
  /** x values; default 1, 2, ..., y.length. */
  x?: ArrayLike<number>;
  y: ArrayLike<number>;
  /** 'line' (default), 'scatter' (markers only) or 'line+markers'. */
  style?: 'line' | 'scatter' | 'line+markers';
  /** Any SVG color; default from a 10-color palette. */
  color?: string;
  /** Dashed line. */
  dashed?: boolean;
  /** Line width in px (default 1.75). */
  width?: number;
}

export interface PlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Size of the image in px (default 720 x 440). */
  width?: number;
  height?: number;
  /** Log-scale (base 10) axes. */
  logX?: boolean;
  logY?: boolean;
  /** Fixed axis ranges (in data units); default: fitted to the data with nice rounding. */
  xRange?: [number, number];
  yRange?: [number, number];
  /** Show the legend (default: when at least one series has a name). */
  legend?: boolean;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Escapes text for SVG content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A 'nice' step (1, 2 or 5 times a power of ten) near range / target. */
export function niceStep(range: number, target = 5): number {
  const raw = range / Math.max(1, target);
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

export interface Axis {
  /** Domain in axis units (log10 of data for log axes). */
  lo: number;
  hi: number;
  log: boolean;
  /** Tick positions in axis units, with labels. */
  ticks: { at: number; label: string; sup?: string }[];
}

function fmtTick(v: number, step: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) {
    const s = v.toExponential(Math.max(0, Math.min(6, Math.round(Math.log10(a) - Math.log10(step)))));
    return s.replace(/\.?0+e/, 'e').replace('e+', 'e');
  }
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

/** Fits an axis to data values (already filtered to valid ones). */
export function makeAxis(values: number[], log: boolean, fixed?: [number, number]): Axis {
  if (log) {
    let lo: number, hi: number;
    if (fixed) {
      lo = Math.log10(fixed[0]);
      hi = Math.log10(fixed[1]);
    } else if (values.length === 0) {
      lo = 0;
      hi = 1;
    } else {
      let mn = Infinity,
        mx = -Infinity;
      for (const v of values) {
        const l = Math.log10(v);
        if (l < mn) mn = l;
        if (l > mx) mx = l;
      }
      lo = Math.floor(mn + 1e-9);
      hi = Math.ceil(mx - 1e-9);
      if (hi <= lo) hi = lo + 1;
    }
    if (!(hi > lo)) hi = lo + 1;
    const span = hi - lo;
    const every = Math.max(1, Math.ceil(span / 8));
    const ticks: Axis['ticks'] = [];
    for (let k = Math.ceil(lo - 1e-9); k <= hi + 1e-9; k++) {
      if (k % every !== 0) continue;
      ticks.push({ at: k, label: '10', sup: String(k) });
    }
    if (span <= 1.5) {
      // Less than two decades: add 2x and 5x ticks with plain labels.
      for (let k = Math.floor(lo); k <= Math.ceil(hi); k++)
        for (const m of [2, 5]) {
          const at = k + Math.log10(m);
          if (at > lo + 1e-9 && at < hi - 1e-9) ticks.push({ at, label: fmtTick(m * 10 ** k, 10 ** k) });
        }
      ticks.sort((a, b) => a.at - b.at);
    }
    return { lo, hi, log: true, ticks };
  }
  let lo: number, hi: number;
  if (fixed) [lo, hi] = fixed;
  else if (values.length === 0) [lo, hi] = [0, 1];
  else {
    lo = Infinity;
    hi = -Infinity;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!(hi > lo)) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  const step = niceStep(hi - lo, 6);
  if (!fixed) {
    lo = Math.floor(lo / step + 1e-9) * step;
    hi = Math.ceil(hi / step - 1e-9) * step;
  }
  const ticks: Axis['ticks'] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    const at = Math.abs(k * step) < step * 1e-9 ? 0 : k * step;
    ticks.push({ at, label: fmtTick(at, step) });
  }
  return { lo, hi, log: false, ticks };
}

function n2(v: number): string {
  return (Math.round(v * 100) / 100).toString();
}

/** Renders the plot as an SVG document (a string). */
export function plotSvg(series: readonly PlotSeries[], options: PlotOptions = {}): string {
  if (!Array.isArray(series)) throw new TypeError('plotSvg: series must be an array');
  const W = options.width ?? 720,
    H = options.height ?? 440;
  const logX = options.logX === true,
    logY = options.logY === true;

  // valid points per series, in axis units
  const pts = series.map((s, si) => {
    if (!s || typeof s.y?.length !== 'number') throw new TypeError(`plotSvg: series[${si}].y must be an array of numbers`);
    if (s.x !== undefined && s.x.length !== s.y.length)
      throw new RangeError(`plotSvg: series[${si}] has ${s.x.length} x values but ${s.y.length} y values`);
    const out: (readonly [number, number] | null)[] = [];
    for (let i = 0; i < s.y.length; i++) {
      const x = s.x ? s.x[i] : i + 1,
        y = s.y[i];
      const ok = Number.isFinite(x) && Number.isFinite(y) && (!logX || x > 0) && (!logY || y > 0);
      out.push(ok ? [x, y] : null);
    }
    return out;
  });
  const xs: number[] = [],
    ys: number[] = [];
  for (const p of pts)
    for (const q of p)
      if (q) {
        xs.push(q[0]);
        ys.push(q[1]);
      }
  const ax = makeAxis(xs, logX, options.xRange);
  const ay = makeAxis(ys, logY, options.yRange);

  const hasTitle = !!options.title;
  const left = 72,
    right = 20,
    top = hasTitle ? 44 : 20,
    bottom = options.xLabel ? 56 : 36;
  const pw = Math.max(10, W - left - right),
    ph = Math.max(10, H - top - bottom);
  const tx = (v: number) => left + (((logX ? Math.log10(v) : v) - ax.lo) / (ax.hi - ax.lo)) * pw;
  const ty = (v: number) => top + ph - (((logY ? Math.log10(v) : v) - ay.lo) / (ay.hi - ay.lo)) * ph;
  const axX = (a: number) => left + ((a - ax.lo) / (ax.hi - ax.lo)) * pw;
  const axY = (a: number) => top + ph - ((a - ay.lo) / (ay.hi - ay.lo)) * ph;

  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  o.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  o.push(`<defs><clipPath id="plot-area"><rect x="${left}" y="${top}" width="${pw}" height="${ph}"/></clipPath></defs>`);
  if (hasTitle)
    o.push(
      `<text class="title" x="${n2(left + pw / 2)}" y="26" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title!)}</text>`,
    );

  // grid and ticks
  o.push('<g class="grid" stroke="#e3e3e3" stroke-width="1">');
  for (const t of ax.ticks) o.push(`<line x1="${n2(axX(t.at))}" y1="${top}" x2="${n2(axX(t.at))}" y2="${top + ph}"/>`);
  for (const t of ay.ticks) o.push(`<line x1="${left}" y1="${n2(axY(t.at))}" x2="${left + pw}" y2="${n2(axY(t.at))}"/>`);
  o.push('</g>');
  o.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#333" stroke-width="1"/>`);
  const label = (t: Axis['ticks'][number]) =>
    t.sup !== undefined ? `${escapeXml(t.label)}<tspan dy="-5" font-size="9">${escapeXml(t.sup)}</tspan>` : escapeXml(t.label);
  o.push('<g class="xticks" text-anchor="middle">');
  for (const t of ax.ticks) {
    const x = n2(axX(t.at));
    o.push(`<line x1="${x}" y1="${top + ph}" x2="${x}" y2="${top + ph + 5}" stroke="#333"/>`);
    o.push(`<text x="${x}" y="${top + ph + 19}">${label(t)}</text>`);
  }
  o.push('</g>');
  o.push('<g class="yticks" text-anchor="end">');
  for (const t of ay.ticks) {
    const y = axY(t.at);
    o.push(`<line x1="${left - 5}" y1="${n2(y)}" x2="${left}" y2="${n2(y)}" stroke="#333"/>`);
    o.push(`<text x="${left - 8}" y="${n2(y + 4)}">${label(t)}</text>`);
  }
  o.push('</g>');
  if (options.xLabel)
    o.push(`<text class="xlabel" x="${n2(left + pw / 2)}" y="${H - 12}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  if (options.yLabel)
    o.push(
      `<text class="ylabel" x="16" y="${n2(top + ph / 2)}" text-anchor="middle" transform="rotate(-90 16 ${n2(top + ph / 2)})">${escapeXml(options.yLabel)}</text>`,
    );

  // data
  o.push('<g class="series" clip-path="url(#plot-area)">');
  series.forEach((s, si) => {
    const color = escapeXml(s.color ?? PALETTE[si % PALETTE.length]);
    const style = s.style ?? 'line';
    const p = pts[si];
    o.push(`<g data-series="${si}"${s.name ? ` data-name="${escapeXml(s.name)}"` : ''}>`);
    if (style !== 'scatter') {
      let seg: string[] = [];
      const flush = () => {
        if (seg.length > 1)
          o.push(
            `<polyline fill="none" stroke="${color}" stroke-width="${s.width ?? 1.75}"${s.dashed ? ' stroke-dasharray="6 4"' : ''} stroke-linejoin="round" points="${seg.join(' ')}"/>`,
          );
        else if (seg.length === 1 && style === 'line') {
          const [x, y] = seg[0].split(',');
          o.push(`<circle cx="${x}" cy="${y}" r="2" fill="${color}"/>`);
        }
        seg = [];
      };
      for (const q of p) {
        if (q) seg.push(`${n2(tx(q[0]))},${n2(ty(q[1]))}`);
        else flush();
      }
      flush();
    }
    if (style !== 'line') for (const q of p) if (q) o.push(`<circle cx="${n2(tx(q[0]))}" cy="${n2(ty(q[1]))}" r="2.75" fill="${color}"/>`);
    o.push('</g>');
  });
  o.push('</g>');

  // legend: in the corner of the plot area that covers the fewest data points (sampled along the
  // lines too); when every corner would cover some, outside the plot, right of it (the picture widens).
  const named = series.map((s, i) => ({ s, i })).filter(({ s }) => s.name);
  let svgWidth = W;
  if ((options.legend ?? named.length > 0) && named.length > 0) {
    const lw = Math.min(pw - 10, 36 + 7 * Math.max(...named.map(({ s }) => s.name!.length)));
    const lh = 8 + 18 * named.length;
    const samples: [number, number][] = [];
    pts.forEach((p, si) => {
      const line = (series[si].style ?? 'line') !== 'scatter';
      let prev: [number, number] | null = null;
      for (const q of p) {
        const cur: [number, number] | null = q ? [tx(q[0]), ty(q[1])] : null;
        if (cur) samples.push(cur);
        if (line && cur && prev) {
          // every 4 px along the segment (the box test has a 4 px margin)
          const steps = Math.min(1000, Math.ceil(Math.hypot(cur[0] - prev[0], cur[1] - prev[1]) / 4));
          for (let k = 1; k < steps; k++)
            samples.push([prev[0] + ((cur[0] - prev[0]) * k) / steps, prev[1] + ((cur[1] - prev[1]) * k) / steps]);
        }
        prev = cur;
      }
    });
    const corners: [number, number][] = [
      [left + pw - lw - 8, top + 8],
      [left + 8, top + 8],
      [left + pw - lw - 8, top + ph - lh - 8],
      [left + 8, top + ph - lh - 8],
    ];
    const covered = ([x, y]: [number, number]) =>
      samples.filter(([a, b]) => a >= x - 4 && a <= x + lw + 4 && b >= y - 4 && b <= y + lh + 4).length;
    let best = corners[0],
      bestN = Infinity;
    for (const c of corners) {
      const k = covered(c);
      if (k < bestN) {
        best = c;
        bestN = k;
      }
    }
    if (bestN > 0) {
      best = [left + pw + 12, top];
      svgWidth = W + lw + 16;
    }
    const [lx, ly] = best;
    o.push(
      `<g class="legend"><rect x="${n2(lx)}" y="${ly}" width="${n2(lw)}" height="${lh}" fill="white" fill-opacity="0.85" stroke="#999"/>`,
    );
    named.forEach(({ s, i }, k) => {
      const color = escapeXml(s.color ?? PALETTE[i % PALETTE.length]);
      const y = ly + 13 + 18 * k;
      if ((s.style ?? 'line') !== 'scatter')
        o.push(
          `<line x1="${n2(lx + 6)}" y1="${y}" x2="${n2(lx + 26)}" y2="${y}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
        );
      if ((s.style ?? 'line') !== 'line') o.push(`<circle cx="${n2(lx + 16)}" cy="${y}" r="3" fill="${color}"/>`);
      o.push(`<text x="${n2(lx + 32)}" y="${y + 4}">${escapeXml(s.name!)}</text>`);
    });
    o.push('</g>');
  }
  o.push('</svg>');
  if (svgWidth !== W)
    o[0] = o[0].replace(
      `width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"`,
      `width="${svgWidth}" height="${H}" viewBox="0 0 ${svgWidth} ${H}"`,
    );
  return o.join('\n') + '\n';
}

/** Renders and writes the plot to `path`. */
export async function writePlotSvg(path: string, series: readonly PlotSeries[], options: PlotOptions = {}): Promise<void> {
  await writeFile(path, plotSvg(series, options), 'utf8');
}

export interface HeatmapOptions {
  title?: string;
  /** Labels of the rows (top to bottom) and columns (left to right); default 1, 2, ... */
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  /** Color scale range; default the data's min and max. */
  min?: number;
  max?: number;
  /** Caption of the color bar, e.g. 'degrees'. */
  unit?: string;
  /** Print each cell's value (default: when both sides are <= 16). */
  values?: boolean;
  /** Digits of the printed values (default 2 significant). */
  digits?: number;
}

/** A white -> dark blue ramp (perceptually monotone enough for a report). */
function ramp(t: number): string {
  const c = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  const mix = (a: number, b: number) => Math.round(a + (b - a) * c);
  return `rgb(${mix(247, 8)},${mix(251, 48)},${mix(255, 107)})`;
}

/**
 * A heat map of a rows x cols matrix (row-major `values`): one cell per entry, a color bar with the
 * range, optional labels and printed values. Non-finite cells are drawn hatched grey.
 */
export function heatmapSvg(values: ArrayLike<number>, rows: number, cols: number, options: HeatmapOptions = {}): string {
  const finite = Array.from(values).filter((v) => Number.isFinite(v));
  const lo = options.min ?? (finite.length ? Math.min(...finite) : 0);
  const hi = options.max ?? (finite.length ? Math.max(...finite) : 1);
  const cell = Math.max(14, Math.min(48, Math.floor(560 / Math.max(rows, cols))));
  const rl = options.rowLabels ?? Array.from({ length: rows }, (_, i) => String(i + 1));
  const cl = options.colLabels ?? Array.from({ length: cols }, (_, i) => String(i + 1));
  const labelW = 8 + 7 * Math.max(1, ...rl.map((s) => s.length));
  const top = (options.title ? 34 : 12) + 18;
  const left = labelW;
  const w = left + cols * cell + 90;
  const h = top + rows * cell + 20;
  const show = options.values ?? (rows <= 16 && cols <= 16);
  const fmt = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(options.digits ?? 2)).toString() : '—');
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11">`,
  );
  o.push(`<rect width="${w}" height="${h}" fill="white"/>`);
  if (options.title) o.push(`<text x="${w / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(options.title)}</text>`);
  for (let j = 0; j < cols; j++)
    o.push(`<text x="${left + (j + 0.5) * cell}" y="${top - 6}" text-anchor="middle">${escapeXml(cl[j] ?? '')}</text>`);
  for (let i = 0; i < rows; i++) {
    o.push(`<text x="${left - 6}" y="${top + (i + 0.5) * cell + 4}" text-anchor="end">${escapeXml(rl[i] ?? '')}</text>`);
    for (let j = 0; j < cols; j++) {
      const v = values[i * cols + j];
      const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
      const fill = Number.isFinite(v) ? ramp(t) : '#bbb';
      o.push(`<rect class="cell" x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${fill}"/>`);
      if (show)
        o.push(
          `<text x="${left + (j + 0.5) * cell}" y="${top + (i + 0.5) * cell + 4}" text-anchor="middle" fill="${t > 0.55 ? 'white' : 'black'}" font-size="${Math.min(11, cell / 3.2).toFixed(1)}">${fmt(v)}</text>`,
        );
    }
  }
  // color bar
  const bx = left + cols * cell + 20,
    bh = rows * cell;
  for (let k = 0; k < 20; k++)
    o.push(`<rect x="${bx}" y="${top + (bh * k) / 20}" width="14" height="${bh / 20 + 0.5}" fill="${ramp(1 - k / 20)}"/>`);
  o.push(`<text x="${bx + 18}" y="${top + 8}">${escapeXml(fmt(hi))}</text>`);
  o.push(`<text x="${bx + 18}" y="${top + bh}">${escapeXml(fmt(lo))}</text>`);
  if (options.unit) o.push(`<text x="${bx}" y="${top + bh + 14}">${escapeXml(options.unit)}</text>`);
  o.push('</svg>');
  return o.join('\n') + '\n';
}
