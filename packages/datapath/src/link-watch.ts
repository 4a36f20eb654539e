import { createRtNetlink, type RtNetlinkSocket } from 'netlink';
import { toNetlinkError } from './errors.js';

/** An interface's state as the egress path needs it. */
export interface LinkState {
  readonly name: string;
  /** The interface exists, is administratively up (`IFF_UP`) and has carrier (`IFF_LOWER_UP`). */
  readonly usable: boolean;
  /** Why not, when not: `missing`, `admin-down` or `no-carrier`. */
  readonly reason?: 'missing' | 'admin-down' | 'no-carrier';
}

/** A running {@link watchLink}. */
export interface LinkWatch {
  /** The state last seen. */
  readonly state: LinkState;
  /** Stops watching (closes the netlink socket). */
  close(): void;
}

/**
 * Watches one interface of the current network namespace through rtnetlink link notifications
 * (`RTNLGRP_LINK`): `onChange` runs with the new state whenever the interface becomes usable or
 * unusable (deleted, set down, or carrier lost), within the kernel's notification delay (no
 * polling). Resolves once the initial state is read.
 *
 * @example
 * ```ts
 * const watch = await watchLink('eth0', (s) => log.warn({ ...s }, s.usable ? 'egress link up' : 'egress link down'));
 * watch.state.usable; // now
 * watch.close();
 * ```
 */
export async function watchLink(ifname: string, onChange: (state: LinkState) => void): Promise<LinkWatch> {
  const sock: RtNetlinkSocket = createRtNetlink();
  const read = async (): Promise<LinkState> => {
    let links: Awaited<ReturnType<RtNetlinkSocket['getLinks']>>;
    try {
      links = await sock.getLinks();
    } catch (e) {
      throw toNetlinkError('dump links', e);
    }
    const link = links.find((l) => l.attrs.ifname === ifname);
    if (link === undefined) return { name: ifname, usable: false, reason: 'missing' };
    if (link.data.flags?.up !== true) return { name: ifname, usable: false, reason: 'admin-down' };
    if (link.data.flags?.lowerUp !== true) return { name: ifname, usable: false, reason: 'no-carrier' };
    return { name: ifname, usable: true };
  };
  let state: LinkState;
  try {
    sock.addMembership('LINK');
    state = await read();
  } catch (e) {
    sock.socket.close();
    throw e;
  }
  let closed = false;
  let reading: Promise<void> = Promise.resolve();
  sock.on('message', (msgs) => {
    // Any notification about this interface (new, changed or deleted): read its state again, in
    // order, and report a change of usability.
    if (!msgs.some((m) => m.kind === 'link' && m.attrs.ifname === ifname)) return;
    reading = reading
      .then(read)
      .then((next) => {
        if (closed || next.usable === state.usable) return;
        state = next;
        onChange(next);
      })
      .catch(() => {
        // The next notification reads again; a closed socket reads nothing.
      });
  });
  sock.socket.ref(true);
  return {
    get state() {
      return state;
    },
    close() {
      closed = true;
      sock.socket.close();
    },
  };
}
