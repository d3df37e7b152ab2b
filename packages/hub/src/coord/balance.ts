/**
 * Each instance's fair share of the endpoints, with hysteresis so that joins and leaves do not
 * make endpoints hop back and forth (docs/architecture.md, "Cluster").
 *
 *   share = ceil(endpoints / live instances)
 *   below the share          → claim what is missing (free endpoints only; nobody is robbed)
 *   above share + slack      → start giving up, a tenth of the share per round at most, and
 *                              keep on until back at the share
 *   above the share while another instance is below share − slack (a joiner the slack would
 *   otherwise starve)        → the same
 *   otherwise                → stay
 *
 * Giving up is gradual so that a joining instance takes load a little at a time, each endpoint
 * away for one claim round at most; the slack (a tenth of the share, at least one) keeps an
 * instance one endpoint over its share from shedding it at every round.
 */
export class Balancer {
  private shedding = false;

  /**
   * What to do this round, given the cluster as this instance sees it: `lowest` is the fewest
   * endpoints another live instance holds, as far as this one knows.
   */
  next(
    endpoints: number,
    instances: number,
    held: number,
    lowest = held,
  ): { claim: number; shed: number } {
    const share = Math.ceil(endpoints / Math.max(1, instances));
    const slack = Math.max(1, Math.ceil(share / 10));
    if (held > share + slack || (held > share && lowest < share - slack)) this.shedding = true;
    if (held <= share) this.shedding = false;
    if (this.shedding) return { claim: 0, shed: Math.min(held - share, slack) };
    return { claim: Math.max(0, share - held), shed: 0 };
  }
}
