import { describe, expect, it } from 'vitest';
import { toolAllowed } from '../../src/config/index.js';

describe('toolAllowed: which tools an endpoint sees', () => {
  it('the default filter lets every tool through', () => {
    expect(toolAllowed({ include: ['*'], exclude: [] }, 'calc__add')).toBe(true);
  });

  it('exclude globs remove tools after include', () => {
    const filter = { include: ['*'], exclude: ['files__delete*', 'shell__*'] };
    expect(toolAllowed(filter, 'files__delete_file')).toBe(false);
    expect(toolAllowed(filter, 'shell__run')).toBe(false);
    expect(toolAllowed(filter, 'files__read')).toBe(true);
  });

  it('include narrows to the named tools, and exclude still wins over include', () => {
    const filter = { include: ['calc__*', 'weather__today'], exclude: ['calc__div'] };
    expect(toolAllowed(filter, 'calc__add')).toBe(true);
    expect(toolAllowed(filter, 'calc__div')).toBe(false);
    expect(toolAllowed(filter, 'weather__today')).toBe(true);
    expect(toolAllowed(filter, 'weather__week')).toBe(false);
  });

  it('an empty include lets nothing through', () => {
    expect(toolAllowed({ include: [], exclude: [] }, 'calc__add')).toBe(false);
  });

  it('names with dots and braces-style alternatives match as globs', () => {
    expect(toolAllowed({ include: ['{calc,notes}__*'], exclude: [] }, 'notes__v1.list')).toBe(true);
    expect(toolAllowed({ include: ['*'], exclude: ['*.list'] }, 'notes__v1.list')).toBe(false);
  });
});
