import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Transition } from '@tether/link';
import type { HubPort } from '../hub/port.js';
import type { ToolCallEntry } from '../store/types.js';

const STATES = [
  'disabled',
  'connecting',
  'open',
  'ready',
  'backoff',
  'parked',
  'reconnecting',
] as const;

/**
 * Prometheus metrics, one registry per hub (tests run several hubs in one process). Endpoint
 * states are a gauge per state, so `tether_endpoint_state{state="ready"} == 1` reads naturally.
 */
export function createMetrics(hub: HubPort): Registry {
  const registry = new Registry();
  // prom-client's names already say what they measure (process_cpu_seconds_total,
  // nodejs_heap_size_used_bytes…): the prefix is the product's name alone.
  collectDefaultMetrics({ register: registry, prefix: 'tether_' });
  const state = new Gauge({
    name: 'tether_endpoint_state',
    help: 'Endpoint state (1 for the current state)',
    labelNames: ['endpoint', 'state'],
    registers: [registry],
  });
  const reconnects = new Counter({
    name: 'tether_endpoint_losses_total',
    help: 'Connections lost, by cause',
    labelNames: ['endpoint', 'cause'],
    registers: [registry],
  });
  const detection = new Histogram({
    name: 'tether_detection_seconds',
    help: 'From the last sign of life to the loss being acted on',
    labelNames: ['cause'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 15, 30],
    registers: [registry],
  });
  const calls = new Histogram({
    name: 'tether_tool_call_seconds',
    help: 'Tool call duration, by outcome',
    labelNames: ['outcome'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 120],
    registers: [registry],
  });
  new Gauge({
    name: 'tether_upstream_restarts',
    help: 'Restarts of each upstream server since the hub started',
    labelNames: ['server'],
    registers: [registry],
    collect() {
      for (const server of hub.servers()) this.set({ server: server.name }, server.restarts);
    },
  });
  new Gauge({
    name: 'tether_upstream_up',
    help: 'Upstream server ready (1) or not (0)',
    labelNames: ['server'],
    registers: [registry],
    collect() {
      for (const server of hub.servers())
        this.set({ server: server.name }, server.state === 'ready' ? 1 : 0);
    },
  });
  // The state each endpoint's gauge shows: a transition sets two series (the old state 0, the
  // new one 1), not one per state — a reconnect storm of 10,000 endpoints is many transitions.
  const shown = new Map<string, string>();
  const setState = (endpoint: string, current: string) => {
    const before = shown.get(endpoint);
    if (before === current) return;
    shown.set(endpoint, current);
    if (before === undefined) {
      for (const s of STATES) state.set({ endpoint, state: s }, s === current ? 1 : 0);
      return;
    }
    state.set({ endpoint, state: before }, 0);
    state.set({ endpoint, state: current }, 1);
  };
  for (const e of hub.endpoints()) setState(e.name, e.enabled ? e.state : 'disabled');
  hub.on('transition', (endpoint: string, t: Transition) => {
    setState(endpoint, t.to);
    const lost = (t.from === 'open' || t.from === 'ready') && t.to !== 'ready';
    if (lost) {
      reconnects.inc({ endpoint, cause: t.cause.type });
      const silent = t.cause.type === 'heartbeat' ? t.cause.silentMs / 1000 : 0;
      detection.observe({ cause: t.cause.type }, silent);
    }
  });
  // Each instance counts the calls it served; the cluster's total is the sum of its scrapes.
  hub.on('call', (entry: ToolCallEntry, remote?: boolean) => {
    if (!remote) calls.observe({ outcome: entry.outcome }, entry.durationMs / 1000);
  });
  return registry;
}
