/**
 * The time limit of one message's authentication: a timer and an
 * AbortController, and race() to answer with a fallback value when time runs
 * out or a step rejects, so that authenticateMessage always answers in time.
 */

export class Deadline {
  readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly expiredPromise: Promise<void>;

  constructor(ms: number) {
    this.expiredPromise = new Promise<void>((resolve) => {
      this.timer = setTimeout(() => {
        this.controller.abort();
        resolve();
      }, ms);
    });
  }

  get expired(): boolean {
    return this.controller.signal.aborted;
  }

  /** `p`, or `fallback()` when time runs out first. A rejection of `p` becomes `onError(err)`. */
  race<T>(p: Promise<T>, fallback: () => T, onError: (err: unknown) => T): Promise<T> {
    return Promise.race([p.catch(onError), this.expiredPromise.then(fallback)]);
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}
