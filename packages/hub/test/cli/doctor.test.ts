import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EndpointSimulator } from '@tether/testkit';
import { diagnose, renderReport } from '../../src/cli/doctor.js';

let sim: EndpointSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('tether doctor', () => {
  it('walks a working endpoint through DNS, TCP, the upgrade and the handshake, and shows what it sent', async () => {
    sim = await EndpointSimulator.start();
    const report = await diagnose(sim.url('secret-token-123456'), { timeoutMs: 2_000 });
    expect(report.steps.map((s) => s.step)).toEqual([
      'url',
      'dns',
      'tcp',
      'upgrade',
      'initialize',
      'tools/list',
    ]);
    expect(report.ok).toBe(true);
    expect(JSON.parse(report.received[0]!)).toMatchObject({ id: 0, method: 'initialize' });
    expect(report.url).not.toContain('secret-token-123456');
    expect(renderReport(report, false)).toContain('The endpoint works.');
  });

  it('says the endpoint closed the socket, with its code, when the token is refused', async () => {
    sim = await EndpointSimulator.start({ tokens: ['good'] });
    const report = await diagnose(sim.url('bad'), { timeoutMs: 2_000 });
    expect(report.ok).toBe(false);
    expect(report.steps.at(-1)).toMatchObject({
      step: 'close',
      ok: false,
      detail: expect.stringContaining('1008'),
    });
    // Without colour the marks are words; the last line names the step, not "the first ✗".
    const text = renderReport(report, false);
    expect(text).toMatch(/The endpoint does not work: it fails at close \(.*1008.*\)\.$/);
    expect(text).not.toContain('✗');
  });

  it('stops at TCP when nothing listens', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const report = await diagnose(`ws://127.0.0.1:${port}/mcp/?token=t`, { timeoutMs: 1_000 });
    expect(report.steps.at(-1)).toMatchObject({
      step: 'tcp',
      ok: false,
      detail: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('explains the silence of the self-hosted relay instead of failing', async () => {
    sim = await EndpointSimulator.start({ mode: 'relay' });
    const report = await diagnose(sim.url(), { timeoutMs: 300 });
    expect(report.steps.at(-1)).toMatchObject({
      step: 'initialize',
      ok: true,
      detail: expect.stringContaining('relay'),
    });
  });

  it('refuses a URL that is not ws:// or wss://', async () => {
    const report = await diagnose('https://api.xiaozhi.me/mcp/');
    expect(report.steps).toEqual([
      { step: 'url', ok: false, detail: 'scheme https: is not ws: or wss:' },
    ]);
  });
});
