// The TypeScript declarations (index.d.ts) compile against a view written in TypeScript
// (test/types.check.ts), including its @ts-expect-error lines.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

test('the declarations type-check a TypeScript view and reject misuse', () => {
  assert.ok(existsSync(tsc), 'run `make install` (client dev dependencies) first');
  const run = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
});
