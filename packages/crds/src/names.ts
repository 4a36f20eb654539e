const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks an object name as a DNS subdomain (≤ 253 chars, lower case); a message, or `undefined` when valid. */
export function dnsSubdomainError(name: string): string | undefined {
  if (name.length === 0) return 'name is empty: set metadata.name';
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    return `"${name}" is not a valid name: use lower-case letters, digits, '-' and '.', starting and ending with an alphanumeric`;
  }
  return undefined;
}
