// Tokens of @sigil/hsm-adapter/testing: random PINs, one token per worker (the vitest
// globalSetup and workerSoftHsmToken), keys seeded by label, and the node:test helper.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk/errors';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { createSoftHsmTestToken, randomPin, seedKeys, SOFTHSM_ROOT_ENV, testWorkerId, type SoftHsmTestToken } from '@sigil/hsm-adapter/testing';
import setup from '../src/testing/vitest-setup.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const TSX = join(root, 'node_modules/.bin/tsx');
const TSCONFIG = join(root, 'tsconfig.test.json');
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

// SoftHSM reads its configuration once per process: this file's one token, for every test here.
let token: SoftHsmTestToken;
const cleanup: (() => Promise<void>)[] = [];
beforeAll(async () => {
  token = await createSoftHsmTestToken({ label: 'kit' });
  cleanup.push(() => token.remove());
});
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

describe('random PINs', () => {
  it('16 hex digits from getRandomValues, never twice the same', () => {
    const pins = Array.from({ length: 64 }, randomPin);
    for (const pin of pins) expect(pin).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(pins).size).toBe(64);
  });

  it('a token gets its own user and SO PINs, and a wrong PIN is refused by the token', async () => {
    expect(token.pin).toMatch(/^[0-9a-f]{16}$/);
    expect(token.soPin).not.toBe(token.pin);
    const e = await Pkcs11KeyBackend.open({ ...token.location, pin: randomPin() }).catch((x: unknown) => x);
    expect(SigilError.is(e, 'E_HSM_PIN')).toBe(true);
    const keys = await Pkcs11KeyBackend.open(token.location);
    await keys.close();
  });
});

describe('seedKeys', () => {
  it('generates each key once, finds it again by label, refuses duplicates', async () => {
    const keys = await Pkcs11KeyBackend.open(token.location);
    cleanup.push(() => keys.close());
    const spec = [{ label: 'directory-log', usage: 'sign' }, { label: 'service', usage: 'agree' }] as const;
    const first = await seedKeys(keys, spec);
    expect([first['directory-log']?.usage, first['service']?.usage]).toEqual(['sign', 'agree']);
    const again = await seedKeys(keys, spec);
    expect([again['directory-log']?.id, again['service']?.id]).toEqual([first['directory-log']?.id, first['service']?.id]);
    expect(await keys.listKeys()).toHaveLength(2);
    await expect(seedKeys(keys, [spec[0], { label: 'directory-log', usage: 'agree' }])).rejects.toThrow(RangeError);
    await keys.generateKeyPair({ usage: 'sign', label: 'directory-log' });
    await expect(seedKeys(keys, [spec[0]])).rejects.toThrow(/2 sign keys labelled "directory-log"/);
  });
});

describe('one token per worker (vitest globalSetup + workerSoftHsmToken)', () => {
  it('the worker id is VITEST_POOL_ID, else the process id', () => {
    expect(testWorkerId({ VITEST_POOL_ID: '3' })).toBe('3');
    expect(testWorkerId({})).toBe(`pid-${process.pid}`);
    expect(testWorkerId({ VITEST_POOL_ID: '../x' })).toBe(`pid-${process.pid}`);
  });

  it('each worker has its token, which the next files of that worker find again; teardown deletes them all', async () => {
    const before = process.env[SOFTHSM_ROOT_ENV];
    const teardown = await setup();
    const runRoot = process.env[SOFTHSM_ROOT_ENV];
    expect(runRoot).toBeDefined();
    try {
      // Files as vitest's workers run them: each in a process of its own, inheriting the env.
      const file = async (poolId: string) => {
        const { stdout } = await run(TSX, ['--tsconfig', TSCONFIG, fixture('worker-token-child.ts')], {
          env: { ...process.env, VITEST_POOL_ID: poolId, SOFTHSM2_CONF: '' },
        });
        return JSON.parse(stdout) as { dir: string; log: string };
      };
      const w1a = await file('1');
      const w2 = await file('2');
      const w1b = await file('1');
      expect(w1a.dir).toBe(join(runRoot!, 'worker-1'));
      expect(w2.dir).toBe(join(runRoot!, 'worker-2'));
      expect(w1b.log).toBe(w1a.log); // the same token, its seeded key found again
      expect(w2.log).not.toBe(w1a.log); // another worker, another token
      const saved = JSON.parse(await readFile(join(runRoot!, 'worker-1', 'token.json'), 'utf8')) as { pin: string };
      expect(saved.pin).toMatch(/^[0-9a-f]{16}$/);
    } finally {
      await teardown();
    }
    expect(existsSync(runRoot!)).toBe(false);
    expect(process.env[SOFTHSM_ROOT_ENV]).toBe(before);
  }, 60_000);
});

describe('node:test helper (@sigil/hsm-adapter/testing/node-test)', () => {
  it('one token per file, seeded keys, deleted after the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sigil-node-test-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const report = join(dir, 'report.json');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', fixture('node-test-kit.fixture.ts')], {
      cwd: root,
      env: { ...process.env, TSX_TSCONFIG_PATH: TSCONFIG, KIT_REPORT: report, SOFTHSM2_CONF: '' },
    });
    expect(stdout).toMatch(/^# pass 3$/m);
    expect(stdout).toMatch(/^# fail 0$/m);
    const { dir: tokenDir, pin } = JSON.parse(await readFile(report, 'utf8')) as { dir: string; pin: string };
    expect(pin).toMatch(/^[0-9a-f]{16}$/);
    expect(existsSync(tokenDir)).toBe(false);
  }, 60_000);
});
