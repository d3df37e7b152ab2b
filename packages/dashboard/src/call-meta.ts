import type { CallItem } from '@tether/protocol';
import type { Translate } from './i18n.js';

/** Where a call in the log came from, as the Endpoint column says it. */
export function callDoor(call: Pick<CallItem, 'endpointId' | 'meta'>, t: Translate): string | null {
  if (call.endpointId !== null) return null; // the endpoint's name says it
  if (call.meta?.via === 'mcp')
    return call.meta.client
      ? t('calls.viaMcpClient', { client: call.meta.client })
      : t('calls.viaMcp');
  return t('calls.viaApi');
}

/**
 * One repair as a line: a rename shows the names ("/user_name: userName → user_name (rename)"),
 * a value repair the values as JSON, so "5" and 5 read apart ("/count: "5" → 5 (number)").
 */
export function repairLine(repair: NonNullable<NonNullable<CallItem['meta']>['repairs']>[number]) {
  const names = repair.kind === 'rename' || repair.kind === 'prefix';
  const shown = (value: unknown) =>
    names && typeof value === 'string' ? value : JSON.stringify(value);
  return `${repair.path || '/'}: ${shown(repair.before)} → ${shown(repair.after)} (${repair.kind})`;
}
