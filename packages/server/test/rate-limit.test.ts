// Client addresses for rate limits (behind trusted proxies or not) and the per-account send
// budget, as units: contexts carrying a socket address as @hono/node-server gives one.
import type { Context } from 'hono';
import { describe, expect, it } from 'vitest';
import { SendLimiter, clientAddress, normalizeAddress } from '../src/http/rate-limit.js';

function request(peer: string, forwardedFor?: string): Context {
  return {
    env: { incoming: { socket: { remoteAddress: peer, remotePort: 1, remoteFamily: peer.includes(':') ? 'IPv6' : 'IPv4' } } },
    req: { header: (name: string) => (name === 'x-forwarded-for' ? forwardedFor : undefined) },
  } as unknown as Context;
}

describe('clientAddress', () => {
  const proxies = new Set(['10.0.0.1', '10.0.0.2']);
  it.each([
    ['a direct client, no header', '198.51.100.1', undefined, '198.51.100.1'],
    ['a direct client cannot claim another address', '198.51.100.1', '203.0.113.9', '198.51.100.1'],
    ['through one proxy', '10.0.0.1', '203.0.113.9', '203.0.113.9'],
    ['through two proxies', '10.0.0.1', '203.0.113.9, 10.0.0.2', '203.0.113.9'],
    ['a client-written entry left of the appended one is ignored', '10.0.0.1', '192.0.2.66, 203.0.113.9', '203.0.113.9'],
    ['a proxy that sent no header: the proxy', '10.0.0.1', undefined, '10.0.0.1'],
    ['only proxies in the header: the peer', '10.0.0.1', '10.0.0.2', '10.0.0.1'],
    ['an IPv4-mapped peer is a configured IPv4 proxy', '::ffff:10.0.0.1', '203.0.113.9', '203.0.113.9'],
    ['an IPv4-mapped client is its IPv4 address', '::ffff:198.51.100.1', undefined, '198.51.100.1'],
    ['IPv6 stays as written', '2001:db8::1', undefined, '2001:db8::1'],
  ])('%s', (_, peer, header, expected) => {
    expect(clientAddress(request(peer, header), proxies)).toBe(expected);
  });
  it('keys a request without a socket (app.request) as one in-process client', () => {
    expect(clientAddress({ env: undefined, req: { header: () => undefined } } as unknown as Context, proxies)).toBe('in-process');
  });
  it('normalizes IPv4-mapped IPv6 only', () => {
    expect(normalizeAddress('::FFFF:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeAddress('::ffff:999.0.2.1')).toBe('::ffff:999.0.2.1');
    expect(normalizeAddress('::ffff:c000:201')).toBe('::ffff:c000:201'); // hex form: left as is
  });
});

describe('SendLimiter', () => {
  it('counts messages and bytes per key and window, refuses without counting, and forgets at the next window', () => {
    const limiter = new SendLimiter({ messages: 3, bytes: 100, windowMs: 1000 });
    expect([limiter.take('a', 60, 0), limiter.take('a', 41, 10)]).toEqual([0, 990]); // bytes over: refused
    expect([limiter.take('a', 40, 20), limiter.take('a', 0, 30), limiter.take('a', 0, 40)]).toEqual([0, 0, 960]); // 3 messages
    expect(limiter.take('b', 100, 50)).toBe(0); // another key
    expect(limiter.take('a', 100, 1000)).toBe(0); // next window
  });
  it('bounds the keys it counts in one window', () => {
    const limiter = new SendLimiter({ messages: 10, bytes: 10, windowMs: 1000 }, 2);
    expect([limiter.take('a', 1, 0), limiter.take('b', 1, 0), limiter.take('c', 1, 0), limiter.take('a', 1, 0)]).toEqual([0, 0, 1000, 0]);
    expect(limiter.take('c', 1, 1000)).toBe(0);
  });
});
