import { isCredentialName } from '../../log/redact.js';
import { isRecord } from '../fields.js';
import type { TetherConfigFile } from './convert.js';
import { envName } from './vscode.js';

// Query parameters also go by short names (`?key=…` for many map and search APIs).
const SECRET_PARAM = /^(key|sig|signature)$/i;

/**
 * Notes for secrets written in plain text. The values stay as they were (the import must work
 * as-is), but each note shows the `${VAR}` form that keeps the secret out of the file.
 * `variables` names the variable to suggest for a header whose secret already has a well-known
 * one (`mcpServers.x.headers.Authorization` → `MODELSCOPE_API_TOKEN`). A note never carries a
 * secret: one whose suggestion would still hold it is not written.
 */
export function secretNotes(
  config: TetherConfigFile,
  variables: ReadonlyMap<string, string> = new Map(),
): string[] {
  const notes: string[] = [];
  config.endpoints?.forEach((endpoint, i) => {
    const suggestion = urlSuggestion(endpoint.url, i === 0 ? 'XIAOZHI' : `XIAOZHI_${i + 1}`);
    if (suggestion !== undefined) notes.push(`endpoints[${i}].url carries a token; ${suggestion}`);
  });
  for (const [name, server] of Object.entries(config.mcpServers)) {
    const prefix = envName(name);
    if (isRecord(server['env'])) {
      for (const [key, value] of Object.entries(server['env'])) {
        if (!isCredentialName(key) || !plain(value)) continue;
        notes.push(
          `mcpServers.${name}.env.${key} holds a secret in plain text; consider "\${${key}}" and set ${key} in the hub's environment.`,
        );
      }
    }
    if (isRecord(server['headers'])) {
      for (const [key, value] of Object.entries(server['headers'])) {
        if (!isCredentialName(key) && !/^(x-)?api-?key$|cookie/i.test(key)) continue;
        if (!plain(value)) continue;
        const variable =
          variables.get(`mcpServers.${name}.headers.${key}`) ??
          `${prefix}_${/auth/i.test(key) ? 'TOKEN' : envName(key)}`;
        const scheme = /^(Bearer|Basic|Token)\s+/i.exec(value)?.[0] ?? '';
        notes.push(
          `mcpServers.${name}.headers.${key} holds a secret in plain text; consider "${scheme}\${${variable}}" and set ${variable} in the hub's environment.`,
        );
      }
    }
    if (typeof server['url'] === 'string') {
      const suggestion = urlSuggestion(server['url'], prefix);
      if (suggestion !== undefined)
        notes.push(`mcpServers.${name}.url carries a secret; ${suggestion}`);
    }
  }
  return notes;
}

function plain(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && !value.includes('${');
}

/** The URL with each secret query parameter (or password) replaced by a `${VAR}`, or undefined. */
function urlSuggestion(url: string, prefix: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const vars: string[] = [];
  let text = url;
  for (const [key, value] of parsed.searchParams) {
    if (!(isCredentialName(key) || SECRET_PARAM.test(key)) || !plain(value)) continue;
    const variable = `${prefix}_${envName(key)}`;
    vars.push(variable);
    text = text.replace(`${key}=${encodeURIComponent(value)}`, `${key}=\${${variable}}`);
    text = text.replace(`${key}=${value}`, `${key}=\${${variable}}`);
  }
  if (parsed.password !== '' && !parsed.password.includes('$')) {
    const variable = `${prefix}_PASSWORD`;
    vars.push(variable);
    text = text.replace(`:${parsed.password}@`, `:\${${variable}}@`);
  }
  if (vars.length === 0) return undefined;
  // A value spelt in a way the replacements above missed (another percent-encoding) would
  // otherwise be printed: say only which variables to set.
  const secrets = [...parsed.searchParams]
    .filter(([key, value]) => (isCredentialName(key) || SECRET_PARAM.test(key)) && plain(value))
    .map(([, value]) => value);
  if (parsed.password !== '') secrets.push(parsed.password);
  if (
    secrets.some((secret) => text.includes(secret) || text.includes(encodeURIComponent(secret)))
  ) {
    return `move it to ${vars.join(', ')} in the hub's environment and write \${…} in its place.`;
  }
  return `consider "${text}" and set ${vars.join(', ')} in the hub's environment.`;
}
