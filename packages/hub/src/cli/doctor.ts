import { lookup } from 'node:dns/promises';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { styleText } from 'node:util';
import WebSocket from 'ws';
import { MCP_PROTOCOL_VERSION } from '@tether/protocol';
import { maskUrl } from '../log/redact.js';
import { printable } from '../log/printable.js';

export interface Step {
  step: 'url' | 'dns' | 'tcp' | 'tls' | 'upgrade' | 'initialize' | 'tools/list' | 'close';
  ok: boolean;
  ms?: number;
  detail: string;
}

export interface DoctorReport {
  url: string;
  ok: boolean;
  steps: Step[];
  /** Frames the endpoint sent, in order (masked of nothing: they carry no secrets of ours). */
  received: string[];
}

const since = (start: number) => Math.round(performance.now() - start);

/**
 * `tether doctor URL`: DNS, TCP, TLS, the WebSocket upgrade, then the MCP handshake as a
 * provider with no tools, timing each step and recording what the endpoint sent. It opens its
 * own socket: an endpoint that honours one provider at a time will drop a running hub's socket
 * while the doctor is connected (the hub reconnects by itself afterwards).
 */
export async function diagnose(
  raw: string,
  options: { timeoutMs?: number } = {},
): Promise<DoctorReport> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const steps: Step[] = [];
  const received: string[] = [];
  const report = (): DoctorReport => ({
    url: maskUrl(raw),
    ok: steps.every((s) => s.ok),
    steps,
    received,
  });
  let url: URL;
  try {
    url = new URL(raw);
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
      throw new Error(`scheme ${url.protocol} is not ws: or wss:`);
    steps.push({ step: 'url', ok: true, detail: `${url.protocol}//${url.host}${url.pathname}` });
  } catch (error) {
    steps.push({ step: 'url', ok: false, detail: (error as Error).message });
    return report();
  }
  const secure = url.protocol === 'wss:';
  const port = Number(url.port) || (secure ? 443 : 80);
  const host = url.hostname.replace(/^\[|\]$/g, '');

  let start = performance.now();
  let address: string;
  try {
    const found = await lookup(host, { all: true });
    address = found[0]!.address;
    steps.push({
      step: 'dns',
      ok: true,
      ms: since(start),
      detail: found.map((a) => a.address).join(', '),
    });
  } catch (error) {
    steps.push({ step: 'dns', ok: false, ms: since(start), detail: (error as Error).message });
    return report();
  }

  start = performance.now();
  const tcp = await new Promise<Step>((resolve) => {
    const socket = tcpConnect({ host: address, port, timeout: timeoutMs });
    socket.once(
      'connect',
      () => (
        socket.destroy(),
        resolve({ step: 'tcp', ok: true, ms: since(start), detail: `${address}:${port}` })
      ),
    );
    socket.once(
      'timeout',
      () => (
        socket.destroy(),
        resolve({ step: 'tcp', ok: false, ms: since(start), detail: 'timed out' })
      ),
    );
    socket.once('error', (e) =>
      resolve({ step: 'tcp', ok: false, ms: since(start), detail: e.message }),
    );
  });
  steps.push(tcp);
  if (!tcp.ok) return report();

  if (secure) {
    start = performance.now();
    const tls = await new Promise<Step>((resolve) => {
      const socket = tlsConnect({ host: address, port, servername: host, timeout: timeoutMs });
      socket.once('secureConnect', () => {
        const cert = socket.getPeerCertificate();
        const detail = `${socket.getProtocol() ?? 'TLS'}, certificate for ${cert.subject?.CN ?? '?'} valid until ${cert.valid_to ?? '?'}`;
        socket.destroy();
        resolve({
          step: 'tls',
          ok: socket.authorized || !socket.authorizationError,
          ms: since(start),
          detail,
        });
      });
      socket.once(
        'timeout',
        () => (
          socket.destroy(),
          resolve({ step: 'tls', ok: false, ms: since(start), detail: 'timed out' })
        ),
      );
      socket.once('error', (e) =>
        resolve({ step: 'tls', ok: false, ms: since(start), detail: e.message }),
      );
    });
    steps.push(tls);
    if (!tls.ok) return report();
  }

  start = performance.now();
  const ws = new WebSocket(raw, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
  // The endpoint speaks first, possibly in the same tick as the upgrade: keep every frame.
  const inbox: string[] = [];
  let onFrame: ((text: string) => void) | undefined;
  ws.on('message', (data) => {
    const text = data.toString();
    received.push(text);
    if (onFrame) onFrame(text);
    else inbox.push(text);
  });
  const opened = await new Promise<Step>((resolve) => {
    ws.once('open', () =>
      resolve({ step: 'upgrade', ok: true, ms: since(start), detail: 'HTTP 101' }),
    );
    ws.once('unexpected-response', (_req, res) => {
      resolve({
        step: 'upgrade',
        ok: false,
        ms: since(start),
        detail: `HTTP ${res.statusCode} instead of 101`,
      });
      ws.terminate();
    });
    ws.once('error', (e) =>
      resolve({ step: 'upgrade', ok: false, ms: since(start), detail: e.message }),
    );
  });
  steps.push(opened);
  if (!opened.ok) return report();

  await new Promise<void>((finish) => {
    const openedAt = performance.now();
    let done = false;
    const resolve = () => {
      done = true;
      finish();
    };
    const timer = setTimeout(() => {
      const missing = steps.some((s) => s.step === 'initialize') ? 'tools/list' : 'initialize';
      const relay = /\/mcp_endpoint\//.test(url.pathname)
        ? ' (normal for the self-hosted relay: it waits for a device session)'
        : '';
      steps.push({
        step: missing,
        ok: relay !== '',
        ms: since(openedAt),
        detail: `nothing within ${timeoutMs} ms${relay}`,
      });
      resolve();
    }, timeoutMs);
    onFrame = (text) => {
      let message: { id?: string | number; method?: string };
      try {
        message = JSON.parse(text);
      } catch {
        return;
      }
      if (message.method === 'initialize') {
        steps.push({
          step: 'initialize',
          ok: true,
          ms: since(openedAt),
          detail: `id ${JSON.stringify(message.id)}`,
        });
        ws.send(
          JSON.stringify({
            jsonrpc: '2.0',
            id: message.id,
            result: {
              protocolVersion: MCP_PROTOCOL_VERSION,
              capabilities: { tools: {} },
              serverInfo: { name: 'tether-doctor', version: '0' },
            },
          }),
        );
      } else if (message.method === 'tools/list') {
        steps.push({
          step: 'tools/list',
          ok: true,
          ms: since(openedAt),
          detail: `id ${JSON.stringify(message.id)}`,
        });
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { tools: [] } }));
        clearTimeout(timer);
        resolve();
      } else if (message.method === 'ping' && message.id !== undefined) {
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: {} }));
      }
    };
    for (const text of inbox.splice(0)) onFrame(text);
    ws.once('close', (code, reason) => {
      if (done) return;
      clearTimeout(timer);
      steps.push({
        step: 'close',
        ok: false,
        ms: since(openedAt),
        detail: `endpoint closed with ${code} ${reason.toString()}`.trim(),
      });
      resolve();
    });
  });
  if (ws.readyState === WebSocket.OPEN) {
    ws.close(1000, 'doctor done');
    await new Promise((resolve) => {
      const cut = setTimeout(() => (ws.terminate(), resolve(undefined)), 1_000);
      ws.once('close', () => (clearTimeout(cut), resolve(undefined)));
    });
  }
  return report();
}

export function renderReport(report: DoctorReport, colour: boolean): string {
  const mark = (ok: boolean) =>
    colour ? (ok ? styleText('green', '✓') : styleText('red', '✗')) : ok ? 'ok ' : 'FAIL';
  // Details and frames are what the endpoint (or its certificate) said: escaped, one line each.
  const lines = [`tether doctor ${printable(report.url)}`, ''];
  for (const s of report.steps)
    lines.push(
      `${mark(s.ok)} ${s.step.padEnd(10)} ${s.ms !== undefined ? `${String(s.ms).padStart(5)} ms  ` : '          '}${printable(s.detail)}`,
    );
  if (report.received.length > 0) {
    lines.push('', 'The endpoint sent:');
    for (const frame of report.received)
      lines.push(
        `  ${printable(frame.length > 300 ? frame.slice(0, 300) : frame)}${frame.length > 300 ? '…' : ''}`,
      );
  }
  // Say where, in words: without colour the marks are "FAIL", and a reader should not hunt.
  const failed = report.steps.find((s) => !s.ok);
  lines.push(
    '',
    report.ok
      ? 'The endpoint works.'
      : failed
        ? `The endpoint does not work: it fails at ${failed.step} (${printable(failed.detail)}).`
        : 'The endpoint does not work.',
  );
  return lines.join('\n');
}
