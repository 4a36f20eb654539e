import { formatIp, ipFromBytes, ipToBytes, parseIpOrThrow } from '@egressgateway/netaddr';

// Buffers as the netlink package takes and gives them. Addresses are parsed by @egressgateway/netaddr;
// only the Buffer glue and MAC addresses (which netaddr does not model) live here.

/** Address text (validated) as a network-order Buffer; throws `NetaddrError` when it is not an address. */
export function addressToBuffer(address: string): Buffer {
  return Buffer.from(ipToBytes(parseIpOrThrow(address)));
}

/** Network-order bytes (4 or 16) from the kernel to canonical address text. */
export function bufferToAddress(buf: Uint8Array): string {
  const r = ipFromBytes(buf);
  if (!r.ok) throw new TypeError(`netlink address attribute: ${r.error}`);
  return formatIp(r.value.family, r.value.value);
}

/** Canonical lower-case MAC text from bytes. */
export function bufferToMac(buf: Uint8Array): string {
  return [...buf].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** MAC text to bytes. */
export function macToBuffer(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => Number.parseInt(h, 16)));
}

/** True when `mac` is six colon-separated hex octets. */
export function isMac(mac: string): boolean {
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac);
}
