// The bins as npm links them: `npm install` at the root puts `sigil` and `sigil-server` in
// node_modules/.bin, so `npx sigil` runs this checkout's CLI, never a registry package of the
// same name. npm links a bin at install time only if its file exists then, before any build,
// so every bin is a committed launcher that runs the compiled code in dist/.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const WORKSPACES = ['packages/sdk', 'packages/hsm-adapter', 'packages/server', 'packages/cli'];

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runFile(file: string, args: readonly string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function bins(workspace: string): Promise<Record<string, string>> {
  const manifest = JSON.parse(await readFile(join(root, workspace, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
  return manifest.bin ?? {};
}

describe('bins', () => {
  it('every bin of every workspace is a committed file, not build output', async () => {
    for (const workspace of WORKSPACES) {
      for (const [name, target] of Object.entries(await bins(workspace))) {
        expect(target, `${workspace} bin ${name}`).not.toMatch(/^(\.\/)?dist\//);
        expect(existsSync(join(root, workspace, target)), `${workspace} bin ${name}`).toBe(true);
      }
    }
    expect(await bins('packages/cli')).toEqual({ sigil: './bin/sigil.js' });
    expect(await bins('packages/server')).toEqual({ 'sigil-server': './bin/sigil-server.js' });
    expect(await bins('packages/sdk')).toEqual({});
  });

  it('npm linked sigil and sigil-server in node_modules/.bin to the launchers', async () => {
    expect(await realpath(join(root, 'node_modules/.bin/sigil'))).toBe(join(root, 'packages/cli/bin/sigil.js'));
    expect(await realpath(join(root, 'node_modules/.bin/sigil-server'))).toBe(join(root, 'packages/server/bin/sigil-server.js'));
  });

  // After `npm run build` (scripts/test.sh builds before the tests run).
  it('node_modules/.bin/sigil --help and --version, and sigil-server --help, run the built CLIs', async () => {
    const sigil = await runFile(join(root, 'node_modules/.bin/sigil'), ['--help']);
    expect(sigil.stderr).toBe('');
    expect(sigil.code).toBe(0);
    expect(sigil.stdout).toContain('Usage: sigil <command>');
    const manifest = JSON.parse(await readFile(join(root, 'packages/cli/package.json'), 'utf8')) as { version: string };
    const version = await runFile(join(root, 'node_modules/.bin/sigil'), ['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toBe(`sigil ${manifest.version}\n`);
    const server = await runFile(join(root, 'node_modules/.bin/sigil-server'), ['--help']);
    expect(server.code).toBe(0);
    expect(server.stdout).toContain('sigil-server serve');
  });

  it('a launcher without its build says so and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sigil-bin-'));
    try {
      for (const [launcher, name] of [['packages/cli/bin/sigil.js', 'sigil'], ['packages/server/bin/sigil-server.js', 'sigil-server']] as const) {
        await mkdir(join(dir, name, 'bin'), { recursive: true });
        const copy = join(dir, name, 'bin', `${name}.js`);
        await copyFile(join(root, launcher), copy);
        const r = await runFile(process.execPath, [copy, '--help']);
        expect(r.code).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toContain('npm run build');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
