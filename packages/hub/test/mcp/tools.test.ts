import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../src/catalog/catalog.js';
import { InvalidCursor, ViewWatch, toolsPage } from '../../src/mcp/tools.js';

const entry = (name: string, description = name): CatalogEntry => ({
  name,
  server: 's',
  tool: name,
  definition: { name, description, inputSchema: { type: 'object' } },
});
const names = (n: number) =>
  Array.from({ length: n }, (_, i) => entry(`t${String(i).padStart(3, '0')}`));

describe('tools/list pages', () => {
  it('pages a view by name, the last page without a cursor', () => {
    const view = names(250);
    const first = toolsPage(view, undefined, 100);
    const second = toolsPage(view, first.nextCursor, 100);
    const third = toolsPage(view, second.nextCursor, 100);
    expect([first, second, third].map((p) => p.tools.length)).toEqual([100, 100, 50]);
    expect(third.nextCursor).toBeUndefined();
    expect([first, second, third].flatMap((p) => p.tools)).toEqual(view.map((e) => e.definition));
  });

  it('goes on where it left off when a tool is added or removed between pages', () => {
    const view = names(150);
    const first = toolsPage(view, undefined, 100);
    // The last tool of the first page is gone, and one is added before it.
    const changed = [entry('a-new'), ...view.filter((e) => e.name !== 't099')];
    const second = toolsPage(changed, first.nextCursor, 100);
    expect(second.tools.map((t) => t.name)).toEqual(view.slice(100).map((e) => e.name));
  });

  it('refuses a cursor it did not hand out', () => {
    expect(() => toolsPage(names(3), 'not a cursor', 100)).toThrow(InvalidCursor);
    expect(() => toolsPage(names(3), '', 100)).toThrow(InvalidCursor);
  });
});

describe('ViewWatch', () => {
  it('reports a change of what is listed, and not a rebuilt view that lists the same', () => {
    let view = names(3);
    const watch = new ViewWatch(() => view);
    expect(watch.changed()).toBe(false);
    view = names(3);
    expect(watch.changed()).toBe(false);
    view = [...names(3), entry('t999')];
    expect(watch.changed()).toBe(true);
    view = [...names(3), entry('t999', 'a new description')];
    expect(watch.changed()).toBe(true);
    expect(watch.changed()).toBe(false);
  });
});
