/**
 * Every Redis key and channel of the cluster, built from one prefix (default `tether:`) so that
 * tests and tenants sharing a Redis never collide, and so the layout can be read in one place.
 *
 * An endpoint's keys carry its id as a hash tag (`{id}`): a script may touch the lease, the
 * fence counter and the status hash of one endpoint together, and on a Redis Cluster those
 * must live in one slot. Whatever the id or the prefix contains, all keys of one endpoint share
 * the text up to the first `}`, hence the slot.
 */
export function clusterKeys(prefix = 'tether:') {
  const endpoint = (id: string) => `${prefix}ep:{${id}}:`;
  return {
    prefix,
    /** String: `leaseValue(instance, token)`, with a PX expiry; absent when nobody owns it. */
    lease: (endpointId: string) => `${endpoint(endpointId)}lease`,
    /**
     * Integer, never expires: bumped at every acquisition so fences grow across owners. Losing
     * it (a flushed Redis) is survived because acquisitions also raise it to a floor (the time).
     */
    fence: (endpointId: string) => `${endpoint(endpointId)}fence`,
    /** Hash: the endpoint's live status, written only by the holder of the current fence. */
    status: (endpointId: string) => `${endpoint(endpointId)}status`,
    /** Sorted set: instance name → last heartbeat (ms). */
    instances: `${prefix}instances`,
    /** Channel: commands addressed to one instance (retry, enable, disable…). */
    commands: (instance: string) => `${prefix}cmd:${instance}`,
    /** Channel: state changes every instance relays to its SSE clients. */
    events: `${prefix}events`,
  };
}

export type ClusterKeys = ReturnType<typeof clusterKeys>;

/**
 * A lease key's value: a random token nobody else can guess, then the owner's name (which may
 * contain anything, so it goes last). Scripts compare the whole value.
 */
export function leaseValue(instance: string, token: string): string {
  return `${token} ${instance}`;
}

/** The instance named in a lease key's value. */
export function leaseHolder(value: string): string {
  const space = value.indexOf(' ');
  return space < 0 ? '' : value.slice(space + 1);
}
