// Throughput of the Cobblestone-256 chunked AEAD (packages/sdk/src/internal/chunked-aead.ts)
// against raw node:crypto AES-256-GCM over the same bytes in 64 KiB segments, in one process.
// Target (issue 3): sealer and opener at >= 0.85x raw. Run: npm run bench chunked-aead
// (builds first; this imports the built dist, the code a Node user runs).
// Shared machines are noisy, so every round runs the baseline and each candidate back to back,
// the table reports the median over rounds of each round's ratio, and time is CPU time.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { createChunkOpener, createChunkSealer } from '../../packages/sdk/dist/internal/chunked-aead.js';

const TOTAL = 64 * 1024 * 1024;
const RAW_SEGMENT = 64 * 1024;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 9);
const chunkSizes = (process.env['BENCH_CHUNK_SIZES'] ?? '16384,65536,262144').split(',').map(Number);

const data = new Uint8Array(randomBytes(TOTAL));
const key = new Uint8Array(randomBytes(32));
const empty = new Uint8Array(0);

/** Raw AES-256-GCM, one cipher per segment, body and tag kept (as a stream would emit them). */
function rawEncrypt(segment: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const nonce = Buffer.alloc(12);
  for (let offset = 0, i = 0; offset < TOTAL; offset += segment, i++) {
    nonce.writeUInt32BE(i, 8);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    out.push(c.update(data.subarray(offset, offset + segment)));
    c.final();
    out.push(c.getAuthTag());
  }
  return out;
}

function rawDecrypt(segments: Uint8Array[]): void {
  const nonce = Buffer.alloc(12);
  for (let i = 0; i < segments.length / 2; i++) {
    nonce.writeUInt32BE(i, 8);
    const d = createDecipheriv('aes-256-gcm', key, nonce);
    d.setAuthTag(segments[2 * i + 1]!);
    d.update(segments[2 * i]!);
    d.final();
  }
}

async function seal(chunkSize: number): Promise<Uint8Array[]> {
  const sealer = await createChunkSealer(key, empty, { chunkSize });
  const out: Uint8Array[] = [sealer.header];
  const full = Math.floor(TOTAL / chunkSize);
  for (let i = 0; i < full; i++) out.push(await sealer.seal(data.subarray(i * chunkSize, (i + 1) * chunkSize), false));
  out.push(await sealer.seal(data.subarray(full * chunkSize), true));
  return out;
}

/** The streaming path: body and tag emitted as two pieces, no copy into one array. */
async function sealDetached(chunkSize: number): Promise<Uint8Array[]> {
  const sealer = await createChunkSealer(key, empty, { chunkSize });
  const out: Uint8Array[] = [sealer.header];
  const full = Math.floor(TOTAL / chunkSize);
  for (let i = 0; i <= full; i++) {
    const last = i === full;
    const { ciphertext, tag } = await sealer.sealDetached(data.subarray(i * chunkSize, last ? TOTAL : (i + 1) * chunkSize), last);
    out.push(ciphertext, tag);
  }
  return out;
}

/** [header, ct0, tag0, ct1, tag1, ...] to [header, ct0||tag0, ...] (the opener takes whole chunks). */
function joinChunks(parts: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [parts[0]!];
  for (let i = 1; i < parts.length; i += 2) {
    const chunk = new Uint8Array(parts[i]!.length + parts[i + 1]!.length);
    chunk.set(parts[i]!, 0);
    chunk.set(parts[i + 1]!, parts[i]!.length);
    out.push(chunk);
  }
  return out;
}

async function open(chunkSize: number, sealed: Uint8Array[]): Promise<number> {
  const opener = await createChunkOpener(key, empty, sealed[0]!, { chunkSize });
  let n = 0;
  for (let i = 1; i < sealed.length; i++) n += (await opener.open(sealed[i]!, i === sealed.length - 1)).length;
  return n;
}

// CPU time of this process (user + system, all threads), not wall time: on a shared machine
// other processes stretch wall time at random, CPU time much less. BENCH_CLOCK=wall for wall time.
const wallClock = process.env['BENCH_CLOCK'] === 'wall';
async function time(fn: () => unknown): Promise<number> {
  if (wallClock) {
    const t0 = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const gbps = (seconds: number) => (TOTAL / seconds / 1e9).toFixed(2);

console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}, load ${loadavg()[0]!.toFixed(2)}; ` +
    `64 MiB per run, ${ROUNDS} interleaved rounds, medians, ${wallClock ? 'wall' : 'CPU'} time`,
);

// Each measurement keeps only its own output alive (the decrypt runs open what the encrypt
// run just made): holding every size's 64 MiB at once made GC, not crypto, the difference.
for (const size of chunkSizes) {
  if ((await open(size, joinChunks(await sealDetached(size)))) !== TOTAL) throw new Error('round trip failed');
}
rawEncrypt(16_384); // warm-up

const t = { rawEnc: [] as number[], rawDec: [] as number[], raw16: [] as number[] };
const sizes = () => new Map<number, number[]>(chunkSizes.map((s) => [s, []]));
const enc = sizes();
const encD = sizes();
const dec = sizes();
const encRatio = sizes();
const encDRatio = sizes();
const decRatio = sizes();
const raw16Ratio: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  let rawSealed: Uint8Array[] = [];
  const rawEnc = await time(() => {
    rawSealed = rawEncrypt(RAW_SEGMENT);
  });
  const rawDec = await time(() => rawDecrypt(rawSealed));
  rawSealed = [];
  const raw16 = await time(() => rawEncrypt(16_384));
  t.rawEnc.push(rawEnc);
  t.rawDec.push(rawDec);
  t.raw16.push(raw16);
  raw16Ratio.push(rawEnc / raw16);
  for (const size of chunkSizes) {
    let sealed: Uint8Array[] = [];
    const ed = await time(async () => {
      sealed = await sealDetached(size);
    });
    let chunks = joinChunks(sealed); // outside the timing: a reader gets whole chunks
    sealed = [];
    const d = await time(() => open(size, chunks));
    chunks = [];
    const e = await time(() => seal(size));
    encD.get(size)!.push(ed);
    encDRatio.get(size)!.push(rawEnc / ed);
    dec.get(size)!.push(d);
    decRatio.get(size)!.push(rawDec / d);
    enc.get(size)!.push(e);
    encRatio.get(size)!.push(rawEnc / e);
  }
}

console.log('| what | chunk | encrypt GB/s | ratio to raw | decrypt GB/s | ratio to raw |');
console.log('|---|---|---|---|---|---|');
// "seal" returns ciphertext || tag in one array (one copy); "sealDetached" returns the two
// pieces, as a stream emits them (no copy), which is the like-for-like comparison with raw.
console.log(`| raw node:crypto AES-256-GCM | 64 KiB | ${gbps(median(t.rawEnc))} | 1.00 | ${gbps(median(t.rawDec))} | 1.00 |`);
console.log(`| raw node:crypto AES-256-GCM (ceiling at 16 KiB) | 16 KiB | ${gbps(median(t.raw16))} | ${median(raw16Ratio).toFixed(2)} | | |`);
for (const size of chunkSizes) {
  const kib = size / 1024;
  console.log(
    `| Cobblestone sealDetached / open | ${kib} KiB | ${gbps(median(encD.get(size)!))} | ${median(encDRatio.get(size)!).toFixed(2)} | ` +
      `${gbps(median(dec.get(size)!))} | ${median(decRatio.get(size)!).toFixed(2)} |`,
  );
  console.log(`| Cobblestone seal (one array) | ${kib} KiB | ${gbps(median(enc.get(size)!))} | ${median(encRatio.get(size)!).toFixed(2)} | | |`);
}
