// The same app under node:test, with the kit's node:test helper: one token for this file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { injectFaults } from '@sigil/hsm-adapter/testing';
import { useSoftHsmToken } from '@sigil/hsm-adapter/testing/node-test';
import { openAuditLog, verifyEntry } from '../../src/audit-log.js';

const hsm = useSoftHsmToken({ keys: [{ label: 'directory-log', usage: 'sign' }] });

test('signs entries with the seeded token key', async () => {
  const logKey = hsm.keys['directory-log'];
  const log = openAuditLog(hsm.backend, logKey);
  assert.equal(await log.append('bob logged in'), 'signed');
  assert.equal(await verifyEntry(logKey.publicKey, log.entries()[0]), true);
});

test('queues while the token is gone', async () => {
  const faults = injectFaults(hsm.backend);
  const log = openAuditLog(faults.backend, hsm.keys['directory-log']);
  faults.inject({ kind: 'device-removed' });
  assert.equal(await log.append('one'), 'queued');
  faults.clear();
  assert.equal(await log.append('two'), 'signed');
  assert.deepEqual(log.entries().map((e) => e.entry), ['one', 'two']);
});
