import { afterEach, describe, expect, it } from 'vitest';
import { JobStore, MAX_FINISHED_JOBS, MAX_JOB_RESULT_BYTES } from '../../src/endpoint/jobs.js';
import type { ToolResult } from '../../src/upstream/types.js';

const stores: JobStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.clear();
});

function store() {
  const s = new JobStore();
  stores.push(s);
  return s;
}

const text = (value: string): ToolResult => ({ content: [{ type: 'text', text: value }] });

/** A job whose call has already finished with `result`, once the microtasks have run. */
async function finished(s: JobStore, result: ToolResult, tool = 'fake__big'): Promise<string> {
  const id = s.add(tool, Promise.resolve(result), new AbortController());
  await new Promise((resolve) => setImmediate(resolve));
  return id;
}

describe('results of calls answered early', () => {
  it('keeps at most MAX_JOB_RESULT_BYTES of a 5 MB result while it waits to be fetched', async () => {
    const s = store();
    const id = await finished(s, {
      content: [{ type: 'text', text: 'x'.repeat(5 * 2 ** 20) }],
      structuredContent: { big: 'y'.repeat(2 ** 20) },
    });
    const kept = await s.take(id, 0);
    expect(typeof kept).toBe('object');
    const result = kept as ToolResult;
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThanOrEqual(MAX_JOB_RESULT_BYTES);
    // The model is told it sees part of the answer.
    expect(JSON.stringify(result.content)).toMatch(/truncated/);
  });

  it('keeps the result when the one waiting for it gave up (its socket closed)', async () => {
    const s = store();
    let finish!: (r: ToolResult) => void;
    const id = s.add(
      'fake__slow',
      new Promise<ToolResult>((r) => (finish = r)),
      new AbortController(),
    );
    const gone = new AbortController();
    const first = s.take(id, 10_000, gone.signal);
    gone.abort();
    expect(await first).toBe('running');
    finish(text('done'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await s.take(id, 0)).toEqual(text('done'));
  });

  it('keeps a small result as it was', async () => {
    const s = store();
    const id = await finished(s, text('3'));
    expect(await s.take(id, 0)).toEqual(text('3'));
  });

  it('bounds a failed call’s error text too', async () => {
    const s = store();
    const id = s.add(
      'fake__boom',
      Promise.reject(new Error('e'.repeat(2 * 2 ** 20))),
      new AbortController(),
    );
    await new Promise((resolve) => setImmediate(resolve));
    const result = (await s.take(id, 0)) as ToolResult;
    expect(result.isError).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThanOrEqual(MAX_JOB_RESULT_BYTES);
  });

  it('keeps the newest MAX_FINISHED_JOBS finished jobs and forgets the oldest first', async () => {
    const s = store();
    const ids: string[] = [];
    for (let i = 0; i < MAX_FINISHED_JOBS + 10; i++) ids.push(await finished(s, text(`r${i}`)));
    expect(s.size).toBe(MAX_FINISHED_JOBS);
    for (const id of ids.slice(0, 10)) expect(await s.take(id, 0)).toBe('unknown');
    const newest = await Promise.all(ids.slice(10).map((id) => s.take(id, 0)));
    expect(newest).toEqual(ids.slice(10).map((_, i) => text(`r${i + 10}`)));
  });

  it('never forgets a running job to make room', async () => {
    const s = store();
    let finish: (r: ToolResult) => void = () => {};
    const running = s.add(
      'fake__slow',
      new Promise<ToolResult>((resolve) => (finish = resolve)),
      new AbortController(),
    );
    for (let i = 0; i < MAX_FINISHED_JOBS + 5; i++) await finished(s, text(`r${i}`));
    expect(await s.take(running, 0)).toBe('running');
    finish(text('slow one'));
    expect(await s.take(running, 100)).toEqual(text('slow one'));
  });
});
