// Throughput of the Cobblestone-256 chunked AEAD (packages/sdk/src/internal/chunked-aead.ts)
// against raw node:crypto AES-256-GCM over the same bytes in 64 KiB segments, in one process.
// Target (issue 3): sealer and opener at >= 0.85x raw. Run: npm run bench chunked-aead
// (builds first; this imports the built dist, the code a Node user runs).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import {
  CHUNK_HEADER_LENGTH,
  CHUNK_TAG_LENGTH,
  createChunkOpener,
  createChunkSealer,
} from '../../packages/sdk/dist/internal/chunked-aead.js';

const TOTAL = 64 * 1024 * 1024;
const RAW_SEGMENT = 64 * 1024;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 7);
const chunkSizes = (process.env['BENCH_CHUNK_SIZES'] ?? '16384,65536,262144').split(',').map(Number);

const data = new Uint8Array(randomBytes(TOTAL));
const key = new Uint8Array(randomBytes(32));

function rawEncrypt(segment = RAW_SEGMENT): Uint8Array[] {
  const out: Uint8Array[] = [];
  const nonce = randomBytes(12);
  for (let offset = 0, i = 0; offset < TOTAL; offset += segment, i++) {
    nonce.writeUInt32BE(i, 8);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    const body = c.update(data.subarray(offset, offset + segment));
    c.final();
    out.push(body, c.getAuthTag());
  }
  return out;
}

function rawDecrypt(segments: Uint8Array[], nonceBase: Buffer): void {
  for (let i = 0; i < segments.length / 2; i++) {
    nonceBase.writeUInt32BE(i, 8);
    const d = createDecipheriv('aes-256-gcm', key, nonceBase);
    d.setAuthTag(segments[2 * i + 1]!);
    d.update(segments[2 * i]!);
    d.final();
  }
}

async function seal(chunkSize: number): Promise<Uint8Array[]> {
  const sealer = await createChunkSealer(key, new Uint8Array(0), { chunkSize });
  const out: Uint8Array[] = [sealer.header];
  const full = Math.floor(TOTAL / chunkSize);
  for (let i = 0; i < full; i++) out.push(await sealer.seal(data.subarray(i * chunkSize, (i + 1) * chunkSize), false));
  out.push(await sealer.seal(data.subarray(full * chunkSize), true));
  return out;
}

async function open(chunkSize: number, sealed: Uint8Array[]): Promise<number> {
  const opener = await createChunkOpener(key, new Uint8Array(0), sealed[0]!, { chunkSize });
  let n = 0;
  for (let i = 1; i < sealed.length; i++) n += (await opener.open(sealed[i]!, i === sealed.length - 1)).length;
  return n;
}

async function best(fn: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!; // median
}

const gbps = (seconds: number) => TOTAL / seconds / 1e9;

console.log(`machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}; 64 MiB, median of ${ROUNDS}`);
// Warm-up.
rawEncrypt();
await seal(16_384);

const rawSegments = rawEncrypt();
const rawEnc = await best(() => rawEncrypt());
const nonceForDecrypt = Buffer.alloc(12);
// Re-encrypt with a known nonce base so that the raw decrypt verifies.
const known: Uint8Array[] = [];
for (let offset = 0, i = 0; offset < TOTAL; offset += RAW_SEGMENT, i++) {
  nonceForDecrypt.writeUInt32BE(i, 8);
  const c = createCipheriv('aes-256-gcm', key, nonceForDecrypt);
  known.push(c.update(data.subarray(offset, offset + RAW_SEGMENT)));
  c.final();
  known.push(c.getAuthTag());
}
void rawSegments;
const rawDec = await best(() => rawDecrypt(known, Buffer.alloc(12)));

console.log('| what | chunk | encrypt GB/s | ratio | decrypt GB/s | ratio |');
console.log('|---|---|---|---|---|---|');
console.log(`| raw node:crypto AES-256-GCM | 64 KiB | ${gbps(rawEnc).toFixed(2)} | 1.00 | ${gbps(rawDec).toFixed(2)} | 1.00 |`);
// The ceiling at the spec's chunk size: raw node:crypto itself, one cipher per 16 KiB.
const raw16 = await best(() => rawEncrypt(16_384));
console.log(`| raw node:crypto AES-256-GCM (ceiling at 16 KiB) | 16 KiB | ${gbps(raw16).toFixed(2)} | ${(rawEnc / raw16).toFixed(2)} | | |`);
for (const chunkSize of chunkSizes) {
  const sealed = await seal(chunkSize);
  const expected = sealed.reduce((n, c) => n + c.length, 0);
  if (expected !== CHUNK_HEADER_LENGTH + TOTAL + (Math.floor(TOTAL / chunkSize) + 1) * CHUNK_TAG_LENGTH) throw new Error('bad length');
  if ((await open(chunkSize, sealed)) !== TOTAL) throw new Error('bad open');
  const enc = await best(() => seal(chunkSize));
  const dec = await best(() => open(chunkSize, sealed));
  console.log(
    `| Cobblestone sealer/opener | ${chunkSize / 1024} KiB | ${gbps(enc).toFixed(2)} | ${(rawEnc / enc).toFixed(2)} | ${gbps(dec).toFixed(2)} | ${(rawDec / dec).toFixed(2)} |`,
  );
}
