import { SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import type { Clock } from '@tether/link';

/**
 * The SDK's own request timeout, put out of the way: every request carries a Deadline on the
 * upstream's clock instead, so the clock (a test's manual one too) decides when it times out.
 * The longest delay a Node timer takes (about 24.8 days); a longer one would fire at once.
 */
export const SDK_TIMEOUT_OFF_MS = 2 ** 31 - 1;

/**
 * A request's time limit on `clock`, as the one signal the SDK is given. At `ms` it aborts with
 * the SdkError(RequestTimeout) the SDK's own timer would have rejected with; the SDK rejects with
 * an SdkError reason as it is (and tells the server notifications/cancelled), so what a timeout
 * looks like to errors.ts and the SessionKeeper does not change.
 *
 * It also aborts when one of `follows` does, with that signal's reason (the first to abort wins,
 * as with AbortSignal.any). Listeners rather than AbortSignal.any: a composite made for every
 * ping and call would stay attached to the connection's long-lived signal for as long as that
 * lives; clear() takes the listeners off again.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private timer: unknown;
  private readonly message: string;
  private readonly unfollow: Array<() => void> = [];

  constructor(
    private readonly clock: Clock,
    private readonly ms: number,
    options: { message?: string; follows?: ReadonlyArray<AbortSignal | undefined> } = {},
  ) {
    this.message = options.message ?? 'Request timed out';
    for (const parent of options.follows ?? []) {
      if (parent === undefined) continue;
      if (parent.aborted) {
        this.controller.abort(parent.reason);
        break;
      }
      const onAbort = (): void => this.controller.abort(parent.reason);
      parent.addEventListener('abort', onAbort, { once: true });
      this.unfollow.push(() => parent.removeEventListener('abort', onAbort));
    }
    if (!this.controller.signal.aborted) this.arm();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The limit starts over (a progress notification keeps a call alive). */
  restart(): void {
    if (this.controller.signal.aborted) return;
    this.clock.clearTimeout(this.timer);
    this.arm();
  }

  /** The request is over: no timer or listener is left behind. */
  clear(): void {
    this.clock.clearTimeout(this.timer);
    for (const unfollow of this.unfollow.splice(0)) unfollow();
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(() => {
      const reason = new SdkError(SdkErrorCode.RequestTimeout, this.message, { timeout: this.ms });
      this.controller.abort(reason);
    }, this.ms);
  }
}
