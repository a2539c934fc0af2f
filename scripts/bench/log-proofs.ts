// Benchmark: inclusion- and consistency-proof generation of the directory's transparency log
// (packages/server/src/log) over the SQLite store, as the tree grows to 1,000,000 leaves, and the
// append rate (statement + leaf + completed nodes, one transaction each).
//
//   npm run bench log-proofs            (or: npx tsx scripts/bench/log-proofs.ts [maxLeaves])
//
// Proof time should grow as log2(n): each proof reads O(log n) complete-subtree nodes.
// Speed is reported, never asserted (shared machines are noisy).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebCryptoKeyBackend } from '@sigil/sdk/backend';
import { inclusionPlan } from '@sigil/sdk/transparency';
import { SqliteStore, TransparencyLog } from '@sigil/server';

const maxLeaves = Number(process.argv[2] ?? 1_000_000);
const marks = [1_000, 10_000, 100_000, 1_000_000].filter((n) => n <= maxLeaves);
const SAMPLES = 2_000;
const dir = mkdtempSync(path.join(tmpdir(), 'sigil-bench-log-'));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

// A deterministic generator, so runs compare (xorshift32).
let seed = 0x9e3779b9;
function rand(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

async function appendRate(durable: boolean, count: number): Promise<number> {
  const store = new SqliteStore(path.join(dir, `rate-${durable}.db`), { unsafeSkipFsync: !durable });
  await store.createAccount({ id: 'bench', kind: 'service', createdAt: 0 });
  const bytes = new Uint8Array(300); // about the size of a device certificate statement
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    bytes[0] = i & 0xff;
    await store.appendStatement({ accountId: 'bench', kind: 'bench', bytes, now: i });
  }
  const rate = count / ((performance.now() - t0) / 1000);
  await store.close();
  return rate;
}

async function main(): Promise<void> {
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}`);
  console.log(
    `append rate, 300-byte statements, one transaction each: ` +
      `${(await appendRate(true, 2_000)).toFixed(0)}/s durable (synchronous=FULL, default), ` +
      `${(await appendRate(false, 20_000)).toFixed(0)}/s with unsafeSkipFsync (bulk load)`,
  );

  const file = path.join(dir, 'log.db');
  const store = new SqliteStore(file, { unsafeSkipFsync: true }); // built fast; proofs are reads
  await store.createAccount({ id: 'bench', kind: 'service', createdAt: 0 });
  const backend = new WebCryptoKeyBackend();
  const key = await backend.generateKeyPair({ usage: 'sign', label: 'bench-log' });
  const log = new TransparencyLog(store, { origin: 'bench.sigil/log', signer: { backend, key }, nodesInMemory: false }); // the store-read path; the directory bench measures the in-memory mirror

  const rows: string[] = [];
  const bytes = new Uint8Array(300);
  let size = 0;
  let buildMs = 0;
  for (const n of marks) {
    const t0 = performance.now();
    for (; size < n; size++) {
      new DataView(bytes.buffer).setUint32(0, size);
      await store.appendStatement({ accountId: 'bench', kind: 'bench', bytes, now: size });
    }
    buildMs += performance.now() - t0;
    // One untimed pass first: the first proofs after a bulk load read cold pages (at 1e6 leaves
    // the node index is ~100 MiB, more than SQLite's cache), then time one proof at a time.
    for (let i = 0; i < SAMPLES; i++) await log.inclusionProof(rand(n), n);
    const incl: number[] = [];
    let nodes = 0;
    for (let i = 0; i < SAMPLES; i++) {
      const m = rand(n);
      nodes += inclusionPlan(m, n).flat().length;
      const s = performance.now();
      await log.inclusionProof(m, n);
      incl.push((performance.now() - s) * 1000);
    }
    const cons: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const m = 1 + rand(n);
      const s = performance.now();
      await log.consistencyProof(m, n);
      cons.push((performance.now() - s) * 1000);
    }
    const r = performance.now();
    await log.rootHash(n);
    const rootUs = (performance.now() - r) * 1000;
    incl.sort((a, b) => a - b);
    cons.sort((a, b) => a - b);
    const mean = incl.reduce((a, b) => a + b, 0) / incl.length;
    rows.push(
      `| ${n.toLocaleString('en-US').padStart(9)} | ${Math.log2(n).toFixed(1).padStart(5)} | ${(nodes / SAMPLES).toFixed(1).padStart(5)} | ` +
        `${mean.toFixed(1).padStart(6)} | ${percentile(incl, 50).toFixed(1).padStart(6)} | ${percentile(incl, 99).toFixed(1).padStart(6)} | ` +
        `${percentile(cons, 50).toFixed(1).padStart(6)} | ${percentile(cons, 99).toFixed(1).padStart(6)} | ${rootUs.toFixed(0).padStart(5)} |`,
    );
    console.log(`  built ${n.toLocaleString('en-US')} leaves (${(size / (buildMs / 1000)).toFixed(0)} appends/s so far)`);
  }
  const dbBytes = ['', '-wal'].reduce((a, s) => a + (statSync(file + s, { throwIfNoEntry: false })?.size ?? 0), 0);
  await store.close();
  console.log('');
  console.log('| leaves    | log2n | nodes | incl mean µs | incl p50 µs | incl p99 µs | cons p50 µs | cons p99 µs | root µs |');
  console.log('| --------- | ----- | ----- | ------ | ------ | ------ | ------ | ------ | ----- |');
  for (const row of rows) console.log(row);
  console.log(`\n${SAMPLES} random proofs per size, one at a time; database ${(dbBytes / 2 ** 20).toFixed(0)} MiB at ${size.toLocaleString('en-US')} leaves.`);
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
