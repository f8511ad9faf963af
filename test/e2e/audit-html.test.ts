/**
 * The audit's report.html in headless Chromium (Debian's `chromium`, scripts/setup-chromium.sh): the DOM Chromium
 * builds holds the violations table with every decision id and the change since the previous report, and a
 * screenshot shows the chart's bars — counted as pixels of the source's colour, which a report without violations
 * does not have, so the check fails when the chart is not drawn.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DEFAULT_TOKEN, SEED_IDS, startCloudflareSim, type CloudflareSim } from '../../sim/cloudflare/index.js';
import type { AuditReport } from '../../src/audit/report.js';
import { projectRoot } from '../../src/opa/binary.js';

const run = promisify(execFile);
const root = projectRoot();
const CLI = join(root, 'dist', 'cli', 'index.js');
const CHROMIUM = process.env.CHROMIUM_BIN ?? 'chromium';
/** The chart's colour of the cloudflare source (src/audit/render.ts). */
const CLOUDFLARE_ORANGE = [0xf3, 0x80, 0x20] as const;

/** Headless Chromium, without a sandbox (the tests run as root in CI containers) or a GPU. */
async function chromium(args: string[]): Promise<string> {
  const { stdout } = await run(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** The RGBA pixels of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes), rows unfiltered (PNG spec §9). */
function decodePng(png: Buffer): { width: number; height: number; pixel(x: number, y: number): [number, number, number] } {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  let at = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.subarray(at + 4, at + 8).toString('latin1');
    const body = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      expect([body[8], body[12]]).toEqual([8, 0]);
      channels = ({ 2: 3, 6: 4 } as Record<number, number>)[body[9]!]!;
    }
    if (type === 'IDAT') data.push(body);
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= channels ? out[y * stride + i - channels]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + i]! : 0;
      const c = y > 0 && i >= channels ? out[(y - 1) * stride + i - channels]! : 0;
      const paeth = (): number => {
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      };
      const predicted = [0, a, b, (a + b) >> 1, paeth()][filter]!;
      out[y * stride + i] = (x + predicted) & 0xff;
    }
  }
  return { width, height, pixel: (x, y) => [out[y * stride + x * channels]!, out[y * stride + x * channels + 1]!, out[y * stride + x * channels + 2]!] };
}

/** Pixels of the screenshot of `html` within a few levels of `rgb`. */
async function pixelsOf(html: string, rgb: readonly [number, number, number], shot: string): Promise<number> {
  await chromium(['--window-size=1200,1400', `--screenshot=${shot}`, `file://${html}`]);
  const png = decodePng(readFileSync(shot));
  let n = 0;
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const p = png.pixel(x, y);
      if (Math.abs(p[0] - rgb[0]) <= 6 && Math.abs(p[1] - rgb[1]) <= 6 && Math.abs(p[2] - rgb[2]) <= 6) n++;
    }
  }
  return n;
}

describe('the audit report in headless Chromium', () => {
  let work: string;
  let sim: CloudflareSim;
  let cfg: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'writegate-audit-html-'));
    sim = await startCloudflareSim();
    writeFileSync(join(work, 'cf-token'), DEFAULT_TOKEN);
    cfg = join(work, 'writegate.yaml');
    writeFileSync(cfg, stringify({
      opa: { policies: [join(root, 'policies')] },
      upstreams: [{
        name: 'cf', kind: 'cloudflare', prefix: '/cf', target: sim.url, policy: 'writegate/cloudflare/decision',
        credentials: { mode: 'held', tokenFile: join(work, 'cf-token') },
      }],
    }));
  });

  afterAll(async () => {
    await sim?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('shows the chart, the table with every decision id and the change since the previous report', async () => {
    const out = join(work, 'reports');
    const audit = (): Promise<unknown> => run(process.execPath, [CLI, 'audit', '--config', cfg, '--out', out]).catch((err: { code?: number }) => {
      if (err.code !== 1) throw err;
    });
    // The first run finds nothing: its page has no bar, which is what makes the pixel count below a check.
    await audit();
    const cleanPixels = await pixelsOf(join(out, 'report.html'), CLOUDFLARE_ORANGE, join(work, 'clean.png'));

    for (const record of [{ type: 'A', name: 'short.example.com', content: '192.0.2.30', ttl: 30 }, { type: 'AAAA', name: 'example.com', content: '2001:db8::1', proxied: false }]) {
      const res = await fetch(`${sim.apiUrl}/zones/${SEED_IDS.zone}/dns_records`, {
        method: 'POST', body: JSON.stringify(record), headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' },
      });
      expect(res.status).toBe(200);
    }
    await audit();
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as AuditReport;
    expect(report.violations).toHaveLength(2);

    const dom = await chromium(['--dump-dom', `file://${join(out, 'report.html')}`]);
    const table = /<table id="violations">[\s\S]*?<\/table>/.exec(dom)?.[0] ?? '';
    const rows = [...table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].slice(1).map((m) => [...m[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]!.replace(/<[^>]+>/g, '')));
    expect(rows.map((r) => [r[0], r[3], r[5]])).toEqual(report.violations.map((v) => [v.source, v.rule, v.decision_id]));
    expect(dom).toMatch(/<strong>2 new<\/strong>, <strong>0 resolved<\/strong>/);
    expect(dom).toMatch(/<svg id="chart"[^>]*aria-label="violations by source and rule"/);

    // Two bars of the longest length (one violation each) are thousands of pixels; the table's colour marks are a few hundred.
    const chartPixels = await pixelsOf(join(out, 'report.html'), CLOUDFLARE_ORANGE, join(work, 'violations.png'));
    expect(cleanPixels).toBeLessThan(1000);
    expect(chartPixels).toBeGreaterThan(10_000);
  });
});
