// `npm start` runs examples/hsm-walkthrough/walkthrough.mjs over the built packages (npm test
// builds first, through scripts/ensure.sh). This runs it as a user would and checks what it
// claims, line by line.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

describe('npm start walk-through', () => {
  it('runs to the end and shows what it claims', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['examples/hsm-walkthrough/walkthrough.mjs'], {
      cwd: repoRoot,
      env: { ...process.env, SOFTHSM2_CONF: '' },
    });
    expect(stdout).toMatch(/verified by the token:\s+true/);
    expect(stdout).toMatch(/verified by node:crypto:\s+true/);
    expect(stdout).toMatch(/a changed message verifies:\s+false/);
    expect(stdout).toMatch(/equal: true/);
    expect(stdout).toMatch(/CKA_EXTRACTABLE\s+false/);
    expect(stdout).toMatch(/CKA_NEVER_EXTRACTABLE\s+true/);
    expect(stdout).toContain('refused, CKR_ATTRIBUTE_SENSITIVE');
    expect(stdout).toContain('refused, CKR_KEY_UNEXTRACTABLE');
    expect(stdout).toContain('token directory removed');
    const module = /module (\S+)/.exec(stdout)?.[1];
    expect(module !== undefined && existsSync(module)).toBe(true);
  });
});
