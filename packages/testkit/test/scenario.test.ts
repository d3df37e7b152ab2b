// The scenario shown in packages/testkit/README.md, kept here so the README cannot rot.
import { expect, it } from 'vitest';
import { EndpointSimulator, FaultProxy, TestProvider, waitUntil } from '../src/index.js';

it('runs the README scenario: simulator, proxy, a provider, a blackhole, the accounting', async () => {
  // 1. An official-style endpoint that pings every 200 ms and closes 4004 after 2 missed pings.
  const sim = await EndpointSimulator.start({
    jsonRpcPing: { intervalMs: 200, maxMissed: 2 },
    closeTimeoutMs: 500, // a peer that cannot hear the close is cut after 0.5 s
  });
  // 2. A fault proxy in front of it.
  const proxy = await FaultProxy.start({ target: { port: sim.port } });
  // 3. Something that dials the endpoint through the proxy (here the testkit's TestProvider).
  const provider = await TestProvider.connect(proxy.url('/mcp/?token=test-token'));
  await sim.waitForReady();
  expect(await sim.callTool('echo', { text: 'hi' })).toMatchObject({ ok: true });

  // 4. Cut the network silently: no FIN, no RST, every byte dropped.
  proxy.blackhole();
  await sim.waitFor(() => sim.accounting().closes === 1, 3_000, 'the endpoint to give up');

  // 5. Read the accounting and the referee.
  const acc = sim.accounting();
  expect(acc.timeline.map((e) => e.type)).toEqual(['open', 'ready', 'close']);
  expect(acc.timeline.at(-1)).toMatchObject({ type: 'close', code: 4004, by: 'simulator' });
  expect(sim.violations).toEqual([]);
  // The provider's TCP connection is still up: it has heard nothing.
  await waitUntil(() => provider.ws.readyState === provider.ws.OPEN);

  provider.ws.terminate();
  await proxy.close();
  await sim.close();
});
