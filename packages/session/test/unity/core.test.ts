import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  NEWTONSOFT,
  NUNIT,
  UNITY_PACKAGE,
  buildCore,
  compile,
  freshDir,
  requireMono,
  runNUnit,
} from './csharp.js';

const CORE = join(UNITY_PACKAGE, 'Runtime/Core');
const TESTS = join(UNITY_PACKAGE, 'Tests');

// Throws under CI=true when Mono is missing: CI fails rather than skip.
const mono = requireMono();
if (!mono) console.warn('core.test.ts: skipped, mcs/mono/Newtonsoft.Json are not installed');

async function sources(dir: string): Promise<Array<{ name: string; text: string }>> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.cs')).sort();
  return Promise.all(
    names.map(async (name) => ({ name, text: await readFile(join(dir, name), 'utf8') })),
  );
}

/**
 * The tests NUnit must report: every [Test] attribute (alone or with others, as in
 * `[Test, Timeout(…)]`) and every [TestCase(…)], outside comments. A test the runner silently
 * does not run (a wrong signature, a missing attribute on its fixture) then fails the count.
 */
function countTests(text: string): number {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const plain = code.match(/\[\s*Test\s*[,\]]/g) ?? [];
  const cases = code.match(/\[\s*TestCase\s*\(/g) ?? [];
  return plain.length + cases.length;
}

describe('the Unity core is engine-free', () => {
  it('uses nothing of UnityEngine, and its asmdef says so', async () => {
    for (const { name, text } of await sources(CORE)) {
      expect(text, name).not.toMatch(/\bUnityEngine\b|\bUnityEditor\b/);
      if (/\b(class|interface|enum)\s/.test(text))
        expect(text, name).toMatch(/^namespace Tether\.Session$/m);
    }
    const asmdef = JSON.parse(await readFile(join(CORE, 'Tether.Session.asmdef'), 'utf8'));
    expect(asmdef).toMatchObject({
      name: 'Tether.Session',
      noEngineReferences: true,
      overrideReferences: true,
      precompiledReferences: ['Newtonsoft.Json.dll'],
    });
  });
});

describe.skipIf(!mono)('the Unity core under Mono (mcs C# 7.2, NUnit 2.6)', () => {
  it('builds, and every NUnit test runs and passes', { timeout: 120_000 }, async () => {
    const dir = await freshDir('tether-unity-core-');
    try {
      const core = await buildCore(dir);
      const tests = join(dir, 'Tether.Session.Tests.dll');
      await compile({
        out: tests,
        sources: [TESTS],
        references: [core, NEWTONSOFT, NUNIT, 'System.Core.dll'],
        target: 'library',
      });
      const result = await runNUnit(tests, { timeoutMs: 100_000 });
      const expected = (await sources(TESTS)).reduce((n, file) => n + countTests(file.text), 0);
      expect(expected).toBeGreaterThan(0);
      expect(result.failures).toEqual([]);
      expect(result).toMatchObject({ failed: 0, ignored: 0, total: expected, passed: expected });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
