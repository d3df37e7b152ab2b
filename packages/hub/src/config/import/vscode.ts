import { homedir } from 'node:os';
import { basename, dirname, sep } from 'node:path';
import { isRecord } from '../fields.js';

/** `api-key` → `API_KEY`: an input id as an environment variable name. */
export function envName(text: string): string {
  const name = text
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
  return /^[0-9]/.test(name) || name === '' ? `_${name}` : name;
}

/**
 * VS Code prompts for `${input:id}` and resolves `${env:X}` and a few predefined variables;
 * Tether only knows `${X}`. Inputs become environment variables (with a note each), the
 * predefined paths are resolved now, and anything else is left for the user with a note.
 */
export function vscodeVariables(
  file: string,
  inputs: unknown,
  notes: string[],
): (value: unknown) => unknown {
  for (const input of Array.isArray(inputs) ? inputs : []) {
    if (!isRecord(input) || typeof input['id'] !== 'string') continue;
    const what = typeof input['description'] === 'string' ? ` (${input['description']})` : '';
    const name = envName(input['id']);
    notes.push(
      `VS Code input "${input['id']}"${what} is prompted by VS Code; Tether reads \${${name}} instead: set ${name} in the hub's environment.`,
    );
  }
  const dir = dirname(file);
  const workspace = basename(dir) === '.vscode' ? dirname(dir) : undefined;
  const unresolved = new Set<string>();
  const replace = (text: string): string =>
    text.replace(/\$\{([^}]*)\}/g, (whole, inner: string) => {
      if (inner.startsWith('input:')) return `\${${envName(inner.slice(6))}}`;
      if (inner.startsWith('env:')) return `\${${inner.slice(4)}}`;
      if (inner === 'workspaceFolder' && workspace !== undefined) return workspace;
      if (inner === 'userHome') return homedir();
      if (inner === 'pathSeparator' || inner === '/') return sep;
      unresolved.add(whole);
      return whole;
    });
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return replace(value);
    if (Array.isArray(value)) return value.map(walk);
    if (isRecord(value))
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  return (value) => {
    const out = walk(value);
    for (const variable of unresolved) {
      notes.push(`${variable} is a VS Code variable Tether cannot resolve; replace it by hand.`);
    }
    unresolved.clear();
    return out;
  };
}
