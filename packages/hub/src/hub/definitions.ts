import type { EndpointConfig, ServerConfig, TetherConfig } from '../config/types.js';
import type { EndpointRow, Overlay, ServerRow, Store } from '../store/types.js';

/**
 * What should run: the file's entries, the API's entries from the store, and the operators'
 * overlays on top (switched off, tools switched off). The file's entries win a name clash —
 * the API refuses to create one — so a provisioned endpoint is never shadowed.
 */
export function effectiveConfig(
  file: TetherConfig,
  apiEndpoints: readonly EndpointRow[],
  apiServers: readonly ServerRow[],
  overlays: ReadonlyMap<string, Overlay>,
): TetherConfig {
  const fileNames = new Set(file.endpoints.map((e) => e.name));
  const fileServers = new Set(file.servers.map((s) => s.name));
  const endpoints: EndpointConfig[] = [
    ...file.endpoints,
    ...apiEndpoints
      .filter((row) => row.source === 'api' && !fileNames.has(row.name))
      .map((row): EndpointConfig => ({
        name: row.name,
        url: row.url,
        enabled: row.enabled,
        tools: row.tools,
        ...(row.servers ? { servers: row.servers } : {}),
        ...(Object.keys(row.overrides).length ? { monitor: row.overrides } : {}),
        source: 'api',
      })),
  ].map((endpoint) => withOverlay(endpoint, overlays.get(endpoint.name)));
  const servers: ServerConfig[] = [
    ...file.servers,
    ...apiServers
      .filter((row) => row.source === 'api' && !fileServers.has(row.name))
      .map((row) => ({ ...row.config, name: row.name, enabled: row.enabled }) as ServerConfig),
  ];
  return { ...file, endpoints, servers };
}

function withOverlay(endpoint: EndpointConfig, overlay: Overlay | undefined): EndpointConfig {
  if (!overlay) return endpoint;
  return {
    ...endpoint,
    enabled: endpoint.enabled && !overlay.disabled,
    // Budget and pinned tools stay: a tool switched off leaves the rest of the filter alone.
    tools: {
      ...endpoint.tools,
      exclude: [...endpoint.tools.exclude, ...overlay.disabledTools],
    },
  };
}

/**
 * The file's entries are provisioned into the store (their status and timeline rows belong to
 * an endpoint row): updated from the file, read-only through the API.
 */
export async function provision(store: Store, file: TetherConfig): Promise<void> {
  await store.endpoints.provision(
    file.endpoints.map((e) => ({
      id: e.name,
      name: e.name,
      url: e.url,
      enabled: e.enabled,
      tools: e.tools,
      servers: e.servers ?? null,
      overrides: e.monitor ?? {},
    })),
  );
  await store.servers.provision(
    file.servers.map((s) => {
      const { name, enabled, ...rest } = s;
      return { id: name, name, enabled, config: rest as Record<string, unknown> };
    }),
  );
}
