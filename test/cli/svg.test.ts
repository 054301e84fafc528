/** The SVG plot writer. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { escapeXml, makeAxis, niceStep, heatmapSvg, plotSvg, writePlotSvg } from '../../ts/cli/svg.js';

/** Checks that tags are balanced and attributes quoted (a small well-formedness check). */
function expectWellFormed(svg: string): void {
  const stack: string[] = [];
  const re = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(svg))) {
    const between = svg.slice(last, m.index);
    expect(between).not.toMatch(/[<>]/); // nothing tag-like outside matched tags
    expect(between).not.toMatch(/&(?!amp;|lt;|gt;|quot;|#39;)/);
    last = re.lastIndex;
    const [, close, name, , self] = m;
    if (self) continue;
    if (close) expect(stack.pop()).toBe(name);
    else stack.push(name);
  }
  expect(svg.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
}

const count = (s: string, sub: string) => s.split(sub).length - 1;

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lowrank-svg-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('svg plots', () => {
  it('nice steps and linear axes', () => {
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(1, 5)).toBe(0.2);
    expect(niceStep(7000, 5)).toBe(1000);
    const a = makeAxis([0.3, 9.7], false);
    expect([a.lo, a.hi]).toEqual([0, 10]);
    expect(a.ticks.map((t) => t.label)).toEqual(['0', '2', '4', '6', '8', '10']);
    const b = makeAxis([-0.013, 0.041], false);
    expect(b.ticks.map((t) => t.label)).toEqual(['-0.02', '-0.01', '0', '0.01', '0.02', '0.03', '0.04', '0.05']);
    const c = makeAxis([5, 5], false); // degenerate range is widened
    expect(c.hi).toBeGreaterThan(c.lo);
    const d = makeAxis([1e-7, 5e-7], false);
    expect(d.ticks.some((t) => t.label === '2e-7')).toBe(true);
  });

  it('log axes tick at decades (superscript exponents), with 2x/5x ticks on short ranges', () => {
    const a = makeAxis([3e-5, 120], true);
    expect([a.lo, a.hi]).toEqual([-5, 3]);
    expect(a.ticks.map((t) => t.sup)).toEqual(['-5', '-4', '-3', '-2', '-1', '0', '1', '2', '3']);
    const wide = makeAxis([1e-30, 1e10], true);
    expect(wide.ticks.length).toBeLessThanOrEqual(10);
    const short = makeAxis([2, 8], true);
    expect(short.ticks.map((t) => t.label)).toEqual(['10', '2', '5', '10']);
  });

  it('draws line and scatter series with legend, title, labels', () => {
    const svg = plotSvg(
      [
        { name: 'computed <S>', y: [100, 50, 10, 1, 0.1] },
        { name: 'known & true', x: [1, 2, 3], y: [100, 50, 10], style: 'scatter', color: '#000' },
        { y: [1, 2, 3], style: 'line+markers', dashed: true },
      ],
      { title: 'Spectrum "A"', xLabel: 'index i', yLabel: 'sigma_i', logY: true },
    );
    expectWellFormed(svg);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('Spectrum &quot;A&quot;');
    expect(svg).toContain('computed &lt;S&gt;');
    expect(svg).toContain('known &amp; true');
    expect(svg).toContain('index i');
    expect(svg).toContain('sigma_i');
    expect(count(svg, '<polyline')).toBe(2);
    expect(count(svg, 'stroke-dasharray')).toBe(1);
    // 3 scatter + 3 line+markers markers + 1 legend marker
    expect(count(svg, '<circle')).toBe(7);
    expect(count(svg, '<tspan')).toBeGreaterThanOrEqual(4); // 10^k labels
    const legend = svg.slice(svg.indexOf('class="legend"'));
    expect(count(legend, '<text')).toBe(2); // unnamed series are not listed
  });

  it('skips non-finite and (on log axes) non-positive points, breaking lines there', () => {
    const svg = plotSvg([{ name: 's', y: [1, 2, NaN, 4, 5, 0, 7, 8] }], { logY: true });
    expectWellFormed(svg);
    expect(count(svg, '<polyline')).toBe(3);
    const lin = plotSvg([{ y: [1, 2, NaN, 4, 5, 0, 7, 8] }]);
    expect(count(lin, '<polyline')).toBe(2);
    expect(lin).not.toContain('NaN');
    const empty = plotSvg([{ y: [] }], { title: 'nothing' });
    expectWellFormed(empty);
    expect(count(empty, '<polyline')).toBe(0);
  });

  it('maps data into the plot area', () => {
    const svg = plotSvg([{ x: [0, 10], y: [0, 10] }], { width: 400, height: 300, xRange: [0, 10], yRange: [0, 10] });
    const pts = /points="([^"]+)"/
      .exec(svg)![1]
      .split(' ')
      .map((p) => p.split(',').map(Number));
    // left margin 72, right 20, top 20, bottom 36
    expect(pts[0]).toEqual([72, 264]);
    expect(pts[1]).toEqual([380, 20]);
  });

  it('validates input and writes files', async () => {
    expect(() => plotSvg([{ x: [1, 2], y: [1] }])).toThrow(/2 x values but 1 y values/);
    expect(() => plotSvg([{} as never])).toThrow(/y must be an array/);
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const f = path.join(dir, 'p.svg');
    await writePlotSvg(f, [{ y: Float64Array.from([3, 2, 1]) }], { title: 't' });
    const text = await readFile(f, 'utf8');
    expectWellFormed(text);
    expect(text).toContain('<polyline');
  });

  it('heat maps: one cell per entry, colors ordered by value, labels, values printed, non-finite grey', () => {
    const v = [0, 30, 60, 90, Number.NaN, 45];
    const svg = heatmapSvg(v, 2, 3, { title: 'angles', rowLabels: ['a', 'b'], colLabels: ['x', 'y', 'z'], unit: 'degrees' });
    expect(count(svg, 'class="cell"')).toBe(6);
    const fills = [...svg.matchAll(/class="cell"[^>]*fill="([^"]+)"/g)].map((m) => m[1]);
    expect(fills[4]).toBe('#bbb');
    const red = (f: string) => Number(/rgb\((\d+)/.exec(f)![1]);
    expect(red(fills[0])).toBeGreaterThan(red(fills[1]));
    expect(red(fills[1])).toBeGreaterThan(red(fills[2]));
    expect(red(fills[2])).toBeGreaterThan(red(fills[3]));
    for (const s of ['angles', '>a<', '>z<', 'degrees', '>90<', '>45<']) expect(svg).toContain(s);
  });
});

describe('legend placement', () => {
  /** Points of every polyline, and the legend box. */
  function parse(svg: string) {
    const pts = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].flatMap((m) => m[1].split(' ').map((q) => q.split(',').map(Number)));
    const r = /<g class="legend"><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(svg)!;
    const [x, y, w, h] = r.slice(1).map(Number);
    return { pts, box: { x, y, w, h } };
  }
  const inside = (box: { x: number; y: number; w: number; h: number }, [a, b]: number[]) =>
    a >= box.x && a <= box.x + box.w && b >= box.y && b <= box.y + box.h;

  it('goes outside the plot (the picture widens) when every corner holds data', () => {
    const x = Array.from({ length: 200 }, (_, i) => i);
    const svg = plotSvg(
      [
        { name: 'a', x, y: x.map((i) => (i % 2 ? 1 : 0)) }, // zig-zag over the whole area
      ],
      { width: 720, xRange: [0, 199], yRange: [0, 1] },
    );
    const { pts, box } = parse(svg);
    expect(pts.filter((q) => inside(box, q))).toEqual([]);
    expect(svg).toMatch(/^<svg [^>]*width="(\d+)"/);
    expect(Number(/^<svg [^>]*width="(\d+)"/.exec(svg)![1])).toBeGreaterThan(720);
  });
});
