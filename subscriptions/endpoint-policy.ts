import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Where the hub may send notifications: https to public addresses, unless the operator's allow-list
 * names the host (plain http, private addresses). Checked at create and again on every connection
 * (connectionLookup), so a name that later resolves to an internal address (DNS rebinding) is refused.
 */
export class EndpointPolicy {
  private readonly names = new Set<string>();
  private readonly allowed = new BlockList();

  constructor(allowList: string[]) {
    for (const entry of allowList) {
      const [addr, bits] = entry.replace(/^\[|\]$/g, '').split('/');
      const family = isIP(addr);
      if (family && bits) this.allowed.addSubnet(addr, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
      else if (family) this.allowed.addAddress(addr, family === 6 ? 'ipv6' : 'ipv4');
      else this.names.add(entry.toLowerCase());
    }
  }

  private hostAllowed(host: string): boolean {
    const h = host.replace(/^\[|\]$/g, '').toLowerCase();
    if (this.names.has(h)) return true;
    const family = isIP(h);
    return family !== 0 && this.allowed.check(h, family === 6 ? 'ipv6' : 'ipv4');
  }

  private addressAllowed(address: string, family: number): boolean {
    return !isPrivate(address, family) || this.allowed.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** Why this endpoint is refused, or undefined when it is fine. Resolves the name. */
  async problem(endpoint: string): Promise<string | undefined> {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return `'${endpoint}' is not an absolute URL`;
    }
    const byName = this.hostAllowed(url.hostname);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && byName)) {
      return `The endpoint must use https (http only for hosts on the operator's allow-list); got ${url.protocol}//${url.host}`;
    }
    if (url.username || url.password) return 'The endpoint may not carry credentials in the URL; use channel.header';
    if (byName) return undefined;
    // A name that does not resolve now may later; connectionLookup refuses private addresses at every delivery.
    const addresses = await resolveAll(url.hostname.replace(/^\[|\]$/g, '')).catch(() => undefined);
    if (!addresses?.length) return undefined;
    const bad = addresses.find((a) => !this.addressAllowed(a.address, a.family));
    return bad ? `The endpoint host ${url.hostname} resolves to ${bad.address}, a private, loopback or link-local address; not allowed unless on the allow-list` : undefined;
  }

  /** A `lookup` for http(s).request that refuses disallowed addresses at connection time. */
  connectionLookup(hostname: string): (host: string, options: object, cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => void {
    const byName = this.hostAllowed(hostname);
    return (host, options, cb) => {
      dnsLookup(host, { ...options, all: true }, (err, addresses) => {
        if (err) return cb(err, '', 0);
        const list = addresses as LookupAddress[];
        const bad = byName ? undefined : list.find((a) => !this.addressAllowed(a.address, a.family));
        if (bad) return cb(new Error(`refused: ${host} resolves to the private address ${bad.address}`), '', 0);
        if ((options as { all?: boolean }).all) return cb(null, list);
        return cb(null, list[0].address, list[0].family);
      });
    };
  }
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => dnsLookup(host, { all: true }, (err, list) => (err ? reject(err) : resolve(list))));
}

const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['::ffff:0:0', 96], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) PRIVATE.addSubnet(net, bits, 'ipv6');

/** Loopback, private, link-local, carrier-grade NAT, multicast, unspecified (RFC 6890), including IPv4-mapped IPv6. */
export function isPrivate(address: string, family: number): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1], 'ipv4');
  return PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4');
}
