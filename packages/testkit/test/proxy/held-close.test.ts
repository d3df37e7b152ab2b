import { afterEach, expect, it } from 'vitest';
import { FaultProxy } from '../../src/proxy/index.js';
import { echoServer, openClient, within, type Fixture } from './net-fixtures.js';

const fixtures: Fixture[] = [];
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.close()));
});

it('closes cleanly when a client left during a blackhole and every pair is reset after it heals', async () => {
  const target = await echoServer();
  fixtures.push(target);
  const proxy = await FaultProxy.start({ target: { port: target.port } });
  const client = await openClient(proxy.port);
  await proxy.waitForConnections(1, 2_000);
  client.socket.write('x'.repeat(100_000));
  proxy.blackhole();
  client.socket.write('y'.repeat(100_000));
  client.socket.end();
  client.socket.destroy();
  await within(2_000, client.closed, 'the client to close');
  proxy.pass();
  proxy.resetAll();
  await within(3_000, proxy.close(), 'the proxy to close');
  expect(proxy.stats().open).toBe(0);
});
