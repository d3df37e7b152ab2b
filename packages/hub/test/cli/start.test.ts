import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EndpointSimulator, fakeStdioServerParams, waitUntil } from '@tether/testkit';
import { call, status, tools } from '../../src/cli/commands.js';
import { startHub } from '../../src/cli/start.js';
import type { RunningHub } from '../../src/cli/start.js';
import { createLogger } from '../../src/log/logger.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function captureLogs() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ destination, pretty: false, level: 'debug' }) };
}

function configFile(content: object): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tether-start-'));
  const file = join(dir, 'tether.config.json');
  writeFileSync(file, JSON.stringify(content));
  return { dir, file };
}

/** Every hub of these tests keeps its state in a fresh folder, never in ~/.tether or a shared database. */
function isolatedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: '',
    TETHER_HOME: mkdtempSync(join(tmpdir(), 'tether-home-')),
    ...extra,
  };
}

async function started(options: Parameters<typeof startHub>[0]): Promise<RunningHub> {
  const running = await startHub({ port: 0, ...options, env: isolatedEnv(options?.env) });
  cleanups.push(() => running.stop());
  return running;
}

function console$() {
  const out: string[] = [];
  vi.spyOn(console, 'log').mockImplementation(
    (...args: unknown[]) => void out.push(args.join(' ')),
  );
  return out;
}

describe('tether start', () => {
  it('runs the demo when there is no configuration: a simulated device calls the sample tools', async () => {
    const { dir } = configFile({});
    const { logger, lines } = captureLogs();
    const running = await started({
      cwd: join(dir, 'empty-dir-without-config'),
      env: { MCP_ENDPOINT: '' },
      logger,
      demoCallEveryMs: 100,
    });
    expect(running.demo).toBeDefined();
    await running.demo!.simulator.waitForReady({ token: 'demo-token', timeoutMs: 10_000 });
    await waitUntil(() => lines.some((l) => l.includes('demo device called sample__')), {
      timeoutMs: 5_000,
      what: 'a device call',
    });
    expect(running.hub.tools().map((t) => t.name)).toContain('sample__add');
    // Started on another port than the default: the hint's commands say where the hub is.
    const hint = lines.find((l) => l.includes('Demo running'));
    expect(hint).toContain(`npx tether status --url ${running.api.url}`);
  });

  it('serves status, tools and call to the CLI, in text and JSON', async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const { command, args } = fakeStdioServerParams();
    const { file } = configFile({
      endpoints: [{ name: 'home', url: sim.url() }],
      mcpServers: { fake: { command, args } },
    });
    const running = await started({ config: file, logger: captureLogs().logger });
    await sim.waitForReady({ timeoutMs: 10_000 });
    const url = running.api.url;
    const out = console$();
    await status({ url, once: true });
    expect(out.pop()).toMatch(/^home\s+ready/);
    await status({ url, json: true });
    expect(JSON.parse(out.pop()!)[0]).toMatchObject({ name: 'home', state: 'ready' });
    await tools({ url });
    expect(out.pop()).toContain('fake__add');
    await call('fake__add', { url, args: '{"a":40,"b":2}' });
    expect(out.pop()).toBe('42');
    await expect(call('fake__add', { url, args: '{oops' })).rejects.toThrow(
      /--args is not valid JSON/,
    );
    await expect(status({ url: 'http://127.0.0.1:9', once: true })).rejects.toThrow(
      /cannot reach the hub/,
    );
  });

  it('applies an edit of the config file while running, restarting only what changed', async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const { command, args } = fakeStdioServerParams();
    const base = {
      endpoints: [
        { name: 'a', url: sim.url('a') },
        { name: 'b', url: sim.url('b') },
      ],
      mcpServers: { fake: { command, args } },
    };
    const { file } = configFile(base);
    await started({ config: file, logger: captureLogs().logger });
    await sim.waitForReady({ token: 'a', timeoutMs: 10_000 });
    await sim.waitForReady({ token: 'b', timeoutMs: 10_000 });
    writeFileSync(
      file,
      JSON.stringify({
        ...base,
        endpoints: [
          base.endpoints[0],
          { ...base.endpoints[1], tools: { include: ['fake__echo'] } },
        ],
      }),
    );
    const b = await sim.waitForReady({ token: 'b', count: 2, timeoutMs: 5_000 });
    expect(b.tools.map((t) => t.name)).toEqual(['fake__echo', 'tether__result']);
    expect(sim.accounting('a')).toMatchObject({ opens: 1, closes: 0 });
  });

  it('never writes an endpoint token into the logs', async () => {
    const sim = await EndpointSimulator.start({ tokens: ['good'] });
    cleanups.push(() => sim.close());
    const secret = 'eyJhbGciOiJFUzI1NiJ9.very-secret-token-value';
    const { file } = configFile({ endpoints: [{ name: 'home', url: sim.url(secret) }] });
    const { logger, lines } = captureLogs();
    await started({ config: file, logger });
    await waitUntil(() => sim.accounting(secret).closes >= 1, {
      timeoutMs: 5_000,
      what: 'the bad token to be refused',
    });
    await waitUntil(() => lines.some((l) => l.includes('1008')), {
      timeoutMs: 2_000,
      what: 'the close to be logged',
    });
    expect(lines.join('\n')).not.toContain('very-secret-token-value');
  });
});

describe('the admin token at start', () => {
  it('prints a generated admin token on the terminal, never in the logs', async () => {
    const { file } = configFile({ hub: { host: '0.0.0.0' } });
    const { logger, lines } = captureLogs();
    const told: string[] = [];
    const running = await started({ config: file, logger, tell: (line) => told.push(line) });
    const token = /admin token for this run: (\S+)/.exec(told.join('\n'))?.[1];
    expect(token).toBeDefined();
    expect(lines.join('\n')).not.toContain(token);
    expect(lines.join('\n')).toMatch(/printed on the terminal/);
    const url = `http://127.0.0.1:${running.api.port}/api/endpoints`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('never logs TETHER_ADMIN_TOKEN, even where a message would quote it', async () => {
    const { file } = configFile({});
    const { logger, lines } = captureLogs();
    const token = 'admin-token-that-must-not-leak';
    await started({ config: file, logger, env: { TETHER_ADMIN_TOKEN: token } });
    logger.warn(`a careless message quoting ${token}`);
    expect(lines.join('\n')).not.toContain(token);
  });
});

describe('tether start in a cluster', () => {
  it('refuses REDIS_URL with SQLite, saying what to set, and starts nothing', async () => {
    const { file } = configFile({});
    await expect(
      startHub({
        config: file,
        port: 0,
        env: isolatedEnv({ REDIS_URL: 'redis://127.0.0.1:6379' }),
      }),
    ).rejects.toThrow(
      /REDIS_URL: several instances share their state in PostgreSQL: set DATABASE_URL/,
    );
  });

  it('names the instance after TETHER_INSTANCE, which is the owner the API shows', async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const { file } = configFile({ endpoints: [{ name: 'home', url: sim.url() }] });
    const { logger } = captureLogs();
    const running = await started({ config: file, logger, env: { TETHER_INSTANCE: 'hub-a' } });
    const answer = await fetch(`${running.api.url}/api/endpoints`);
    expect(((await answer.json()) as Array<{ owner: string }>)[0]!.owner).toBe('hub-a');
  });
});

describe('tether start as a process', () => {
  it('shuts down on SIGTERM within 5 s: sockets closed with 1001, children reaped', async () => {
    const sim = await EndpointSimulator.start();
    cleanups.push(() => sim.close());
    const { command, args } = fakeStdioServerParams();
    const { file } = configFile({
      endpoints: [{ name: 'home', url: sim.url() }],
      mcpServers: { fake: { command, args } },
      hub: { port: 0 },
    });
    const bin = fileURLToPath(new URL('../../bin/tether.js', import.meta.url));
    const child = spawn(process.execPath, [bin, 'start', '--config', file], {
      stdio: 'ignore',
      env: isolatedEnv(),
    });
    cleanups.push(() => child.kill('SIGKILL'));
    await sim.waitForReady({ timeoutMs: 15_000 });
    const stoppedAt = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) =>
      child.once('exit', (c) => resolve(c)),
    );
    expect(code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    await sim.waitFor(() => sim.accounting().closes === 1);
    expect(sim.accounting().timeline.at(-1)).toMatchObject({ type: 'close', code: 1001 });
  });
});
