import type { EndpointInput, ServerInput } from '@tether/protocol';

/**
 * The form checks of EndpointInputSchema and ServerInputSchema, restated without zod so zod
 * stays out of the page (it does not tree-shake: ~190 KB). test/forms.test.ts runs the same
 * inputs through the schemas and these functions and demands the same verdicts, so they cannot
 * drift apart. The hub validates again and its message is shown if this ever misses something.
 */
const ENDPOINT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const SERVER_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const WS_URL = /^wss?:\/\//;
const HTTP_URL = /^https?:\/\//;

export type EndpointField = 'name' | 'url';
export type ServerField = 'name' | 'command' | 'url';

/** The fields of an endpoint input that the hub would refuse. */
export function endpointProblems(input: EndpointInput): EndpointField[] {
  const problems: EndpointField[] = [];
  if (!ENDPOINT_NAME.test(input.name)) problems.push('name');
  if (!WS_URL.test(input.url)) problems.push('url');
  return problems;
}

/** The fields of a server input that the hub would refuse. */
export function serverProblems(input: ServerInput): ServerField[] {
  const problems: ServerField[] = [];
  if (!SERVER_NAME.test(input.name)) problems.push('name');
  if (input.type === 'stdio') {
    if (input.command.length === 0) problems.push('command');
  } else if (!HTTP_URL.test(input.url)) {
    problems.push('url');
  }
  return problems;
}
