// Benchmark: account lookups with inclusion proofs (GET /v1/accounts/:id) against the real
// `sigil-server` on loopback, driven by autocannon, side by side with a bare Hono route in its own
// process on the same machine in the same run; by default at 10,000 and 100,000 accounts (two
// statements each: genesis and device certificate), at full speed (10 and 64 connections, each
// alternated with the bare route at as many connections, 3 times: SIGIL_BENCH_ROUNDS; the median
// share and its range are reported) and at a fixed 1,000 requests/s;
// then inclusion-proof generation time at each size. Prints ONE markdown table.
//
//   npm run bench directory                                   (10,000 and 100,000 accounts, ~5 min)
//   SIGIL_BENCH_ACCOUNTS=10000,1000000 npm run bench directory (the 1,000,000 population alone
//                                                              takes about 3 minutes to load)
//   npx tsx scripts/bench/directory.ts [accounts,...] [seconds per run]   (SIGIL_BENCH_SECONDS)
//
// Targets (issue 4): lookups >= 40% of the bare route's rate; p99 < 20 ms at 1,000 req/s; proof
// time growing as log(n). Loopback only; every run is bounded in time. Speed is reported, never
// asserted. The store-read proof sweep to 1,000,000 leaves is scripts/bench/log-proofs.ts.
//
// The store is populated directly through the Store API with unsafeSkipFsync (a bulk load); the
// statements are real signed statements of one template account, copied for every account: a
// lookup serves bytes and proofs and does not verify signatures, so the cost is the same.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { WebCryptoKeyBackend } from '@sigil/sdk/backend';
import { applyStatement, chainAfter, genesisHeader, signStatement } from '@sigil/sdk/identity';
import { proveDevicePossession } from '@sigil/sdk/identity';
import { SqliteStore, TransparencyLog } from '@sigil/server';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sizes = (process.argv[2] ?? process.env['SIGIL_BENCH_ACCOUNTS'] ?? '10000,100000').split(',').map(Number);
const seconds = Number(process.argv[3] ?? process.env['SIGIL_BENCH_SECONDS'] ?? 5);
if (sizes.some((n) => !Number.isSafeInteger(n) || n < 1) || !(seconds > 0 && seconds <= 60)) {
  throw new RangeError('usage: directory.ts [accounts,...] [seconds per run, 1..60]');
}
const CONNECTIONS = 10;
/** A second concurrency level for the full-speed runs: many clients at once, as a directory sees. */
const MANY_CONNECTIONS = 64;
const FIXED_RATE = 1000;
const WARMUP = 2; // seconds
/**
 * Full-speed comparisons alternate the bare route and the run compared with it this many times,
 * and report the median ratio with its range: on a shared machine one run of either can be off by
 * a tenth (the bare route has measured 54,000 to 63,000 req/s within one run of this script).
 */
const ROUNDS = Number(process.env['SIGIL_BENCH_ROUNDS'] ?? 3);
if (!(Number.isSafeInteger(ROUNDS) && ROUNDS >= 1 && ROUNDS <= 20)) throw new RangeError('SIGIL_BENCH_ROUNDS: 1..20');
const dir = mkdtempSync(path.join(tmpdir(), 'sigil-bench-directory-'));
const db = path.join(dir, 'directory.db');

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; max: number; average: number };
  non2xx: number;
  errors: number;
  statusCodeStats?: Record<string, { count: number }>;
  timeouts: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const AUTOCANNON = 'autocannon'; // no type declarations: imported by name
const autocannon = (await import(AUTOCANNON)).default as Autocannon;

// xorshift32: the same account sequence every run.
let seed = 0x2545f491;
function rand(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

async function templateStatements(): Promise<Uint8Array[]> {
  const keys = new WebCryptoKeyBackend();
  const root = await keys.generateKeyPair({ usage: 'sign', label: 'root' });
  const sign = await keys.generateKeyPair({ usage: 'sign', label: 'device' });
  const agree = await keys.generateKeyPair({ usage: 'agree', label: 'device' });
  const id = 'acct-template@example.com';
  const genesis = await signStatement({ kind: 'genesis', ...genesisHeader(id, root.id, 1), roots: [{ type: 'service', publicKey: root.publicKey }] }, { backend: keys, ref: root });
  const state = await applyStatement(undefined, genesis);
  const cert = await signStatement(
    { kind: 'device-certificate', ...chainAfter(state, root.id, 2), device: { signingKey: sign.publicKey, agreementKey: agree.publicKey, possessionSignature: await proveDevicePossession(state.accountId, { backend: keys, signing: sign, agreement: agree }), name: 'server-1' } },
    { backend: keys, ref: root },
  );
  return [genesis, cert];
}

/** Adds accounts [from, to) with two statements each; returns accounts per second. */
async function populate(from: number, to: number, statements: Uint8Array[]): Promise<number> {
  const store = new SqliteStore(db, { unsafeSkipFsync: true });
  const t0 = performance.now();
  for (let i = from; i < to; i++) {
    const id = `acct-${i}@example.com`;
    await store.createAccount({ id, kind: 'service', createdAt: 1 });
    await store.appendStatement({ accountId: id, kind: 'genesis', bytes: statements[0]!, now: 1 });
    await store.appendStatement({ accountId: id, kind: 'device-certificate', bytes: statements[1]!, now: 1 });
    if ((i + 1) % 100_000 === 0) console.log(`  ${(i + 1).toLocaleString('en-US')} accounts (${((i + 1 - from) / ((performance.now() - t0) / 1000)).toFixed(0)}/s)`);
  }
  const rate = (to - from) / ((performance.now() - t0) / 1000);
  await store.close();
  return rate;
}

function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    child[stream]!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = pattern.exec(text);
      if (m !== null) resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`process exited with ${code}: ${text}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function startDirectory(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'packages/server/src/cli/main.ts'), 'serve', '--db', db, '--port', '0'], {
    cwd: repoRoot,
    env: { ...process.env, TSX_TSCONFIG_PATH: 'tsconfig.test.json' },
    stdio: ['ignore', 'ignore', 'pipe'], // the access log is not what we measure
  });
  const m = await waitFor(child, 'stderr', /listening on (http:\/\/\S+)\n/);
  return { child, url: m[1]! };
}

const BARE = `
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
const app = new Hono();
app.get('/bare', (c) => c.json({ ok: true }));
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => console.log('port ' + info.port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

async function startBare(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', BARE], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const m = await waitFor(child, 'stdout', /port (\d+)\n/);
  return { child, url: `http://127.0.0.1:${m[1]}` };
}

interface Row {
  readonly what: string;
  readonly n?: number | undefined;
  readonly r?: AutocannonResult | undefined;
  /** Share of the bare route's rate measured just before. */
  readonly bare?: AutocannonResult | undefined;
  /** Shares of the bare route's rate in alternating runs (`paired`); `r` is the median run. */
  readonly shares?: readonly number[] | undefined;
  readonly proof?: { p50: number; p99: number; mean: number } | undefined;
}

async function load(url: string, pathOf: () => string, rate?: number, connections = CONNECTIONS): Promise<AutocannonResult> {
  // Warm-up (JIT, page cache, the server's caches), not recorded.
  await autocannon({ url, connections, duration: WARMUP, requests: [{ method: 'GET', setupRequest: (req: Record<string, unknown>) => ({ ...req, path: pathOf() }) }] });
  const r = await autocannon({
    url,
    connections,
    duration: seconds,
    ...(rate === undefined ? {} : { overallRate: rate }),
    requests: [{ method: 'GET', setupRequest: (req: Record<string, unknown>) => ({ ...req, path: pathOf() }) }],
  });
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) {
    console.log(`  WARNING: ${r.non2xx} non-2xx (${JSON.stringify(r.statusCodeStats ?? {})}), ${r.errors} errors, ${r.timeouts} timeouts`);
  }
  return r;
}

function median<T>(values: readonly T[], key: (v: T) => number): T {
  return [...values].sort((a, b) => key(a) - key(b))[Math.floor((values.length - 1) / 2)]!;
}

/**
 * ROUNDS alternating runs of the bare route and of `run`: the median run of each and the shares
 * of each pair (run / the bare run just before it), so that load from elsewhere hits both alike.
 */
async function paired(bareRun: () => Promise<AutocannonResult>, run: () => Promise<AutocannonResult>) {
  const pairs: { bare: AutocannonResult; r: AutocannonResult }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const bare = await bareRun();
    pairs.push({ bare, r: await run() });
  }
  const rate = (r: AutocannonResult) => r.requests.average;
  return {
    bare: median(pairs.map((p) => p.bare), rate),
    r: median(pairs.map((p) => p.r), rate),
    shares: pairs.map((p) => rate(p.r) / rate(p.bare)),
  };
}

async function proofTimes(size: number, samples = 2000): Promise<{ p50: number; p99: number; mean: number }> {
  const store = new SqliteStore(db);
  const backend = new WebCryptoKeyBackend();
  const key = await backend.generateKeyPair({ usage: 'sign', label: 'bench' });
  const log = new TransparencyLog(store, { origin: 'bench.sigil/log', signer: { backend, key } });
  for (let i = 0; i < 200; i++) await log.inclusionProofsAt([rand(size)], size);
  const us: number[] = [];
  for (let i = 0; i < samples; i++) {
    const m = rand(size);
    const t = performance.now();
    await log.inclusionProofsAt([m], size);
    us.push((performance.now() - t) * 1000);
  }
  await store.close();
  us.sort((a, b) => a - b);
  return { p50: us[Math.floor(samples / 2)]!, p99: us[Math.floor(samples * 0.99)]!, mean: us.reduce((a, b) => a + b, 0) / samples };
}

/** "41% (39-43%)": the median share and the range of the alternating runs. */
function percentages(shares: readonly number[]): string {
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  const sorted = [...shares].sort((a, b) => a - b);
  const mid = median(sorted, (x) => x);
  return sorted.length === 1 ? pct(mid) : `${pct(mid)} (${pct(sorted[0]!)}-${pct(sorted.at(-1)!)})`;
}

function loads(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

async function main(): Promise<void> {
  const machine = `${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
  const loadAtStart = loads();
  console.log(`machine: ${machine}; load average ${loadAtStart}`);
  const statements = await templateStatements();

  const bare = await startBare();
  const rows: Row[] = [];
  const notes: string[] = [];
  let populated = 0;
  try {
    for (const n of sizes) {
      const t0 = performance.now();
      const rate = await populate(populated, n, statements);
      populated = n;
      notes.push(
        `${n.toLocaleString('en-US')} accounts (${(2 * n).toLocaleString('en-US')} leaves) loaded in ` +
          `${((performance.now() - t0) / 1000).toFixed(0)} s (${rate.toFixed(0)} accounts/s), database ${(statSync(db).size / 2 ** 20).toFixed(0)} MiB`,
      );
      console.log(notes.at(-1));
      const server = await startDirectory();
      try {
        const sample = (await (await fetch(`${server.url}/v1/accounts/acct-${rand(n)}@example.com`)).json()) as { statements: { inclusionB64: string }[] };
        if (sample.statements.length !== 2) throw new Error('the lookup did not return the two statements');
        const lookup = () => `/v1/accounts/acct-${rand(n)}@example.com`;
        // Interleaved, so that load from elsewhere hits the bare route and the lookups alike.
        const bareRun = await load(bare.url, () => '/bare');
        rows.push({ what: 'bare Hono route (own process)', n, r: bareRun });
        rows.push({ what: 'GET /v1/health through the app shell', n, r: await load(server.url, () => '/v1/health'), bare: bareRun });
        const few = await paired(() => load(bare.url, () => '/bare'), () => load(server.url, lookup));
        rows.push({ what: `bare Hono route, median of ${ROUNDS}`, n, r: few.bare });
        rows.push({ what: `lookup with proofs (${Buffer.from(sample.statements[0]!.inclusionB64, 'base64url').length / 32}-hash paths), median of ${ROUNDS}`, n, r: few.r, shares: few.shares });
        rows.push({ what: `lookup with proofs @ ${FIXED_RATE} req/s`, n, r: await load(server.url, lookup, FIXED_RATE) });
        const many = await paired(
          () => load(bare.url, () => '/bare', undefined, MANY_CONNECTIONS),
          () => load(server.url, lookup, undefined, MANY_CONNECTIONS),
        );
        rows.push({ what: `bare Hono route, ${MANY_CONNECTIONS} connections, median of ${ROUNDS}`, n, r: many.bare });
        rows.push({ what: `lookup with proofs, ${MANY_CONNECTIONS} connections, median of ${ROUNDS}`, n, r: many.r, shares: many.shares });
        for (const row of rows.slice(-7)) {
          const shares = row.shares === undefined ? '' : `, ${percentages(row.shares)} of bare`;
          console.log(`  ${row.what}: ${row.r!.requests.average.toFixed(0)} req/s, p50 ${row.r!.latency.p50} ms, p99 ${row.r!.latency.p99} ms${shares}`);
        }
      } finally {
        await stop(server.child);
      }
      // Proof generation alone on the same store at this size (the lookup's path: TransparencyLog
      // with its nodes in memory), one proof at a time.
      rows.push({ what: 'inclusion proof generation', n: 2 * n, proof: await proofTimes(2 * n) });
    }
  } finally {
    await stop(bare.child);
  }

  const proofRows = rows.filter((r) => r.proof !== undefined);
  console.log('');
  console.log(`### Directory lookups: ${machine}`);
  console.log('');
  console.log(
    `Load average (1, 5, 15 min) ${loadAtStart} at the start, ${loads()} at the end; autocannon ${CONNECTIONS} connections (${MANY_CONNECTIONS} where a row says so), ${seconds} s per run after ` +
      `${WARMUP} s of warm-up, on loopback, sharing the machine with the server. Targets: lookups >= 40% of the bare route; p99 < 20 ms at ${FIXED_RATE} req/s; proof time ~ log2(n).`,
  );
  console.log('');
  console.log('| run | accounts / leaves | req/s | vs bare | p50 | p99 | max |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    const size = (row.n ?? 0).toLocaleString('en-US');
    if (row.r !== undefined) {
      const { r } = row;
      const share =
        row.shares !== undefined ? percentages(row.shares) : row.bare === undefined ? '' : `${((100 * r.requests.average) / row.bare.requests.average).toFixed(0)}%`;
      console.log(`| ${row.what} | ${size} | ${r.requests.average.toFixed(0)} | ${share} | ${r.latency.p50} ms | ${r.latency.p99} ms | ${r.latency.max} ms |`);
    } else if (row.proof !== undefined) {
      const perLog = row.proof.p50 / Math.log2(row.n ?? 2);
      console.log(
        `| ${row.what} (p50 = ${perLog.toFixed(2)} µs x log2 n; mean ${row.proof.mean.toFixed(1)} µs) | ${size} leaves |  |  | ${row.proof.p50.toFixed(1)} µs | ${row.proof.p99.toFixed(1)} µs |  |`,
      );
    }
  }
  console.log('');
  for (const note of notes) console.log(`- ${note}`);
  if (proofRows.length > 1) {
    const first = proofRows[0]!;
    const last = proofRows.at(-1)!;
    console.log(
      // The median, not the mean: a garbage collection during the 2,000 samples (the larger trees
      // have just allocated their in-memory copy) moves the mean by several times, the median not.
      `- proof time (p50) x${(last.proof!.p50 / first.proof!.p50).toFixed(2)} from ${first.n!.toLocaleString('en-US')} to ${last.n!.toLocaleString('en-US')} leaves; ` +
        `log2 n x${(Math.log2(last.n!) / Math.log2(first.n!)).toFixed(2)}, n x${(last.n! / first.n!).toFixed(0)}`,
    );
  }
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
