/**
 * A push queue that is also an async iterable: the machine pushes events as they happen, the caller reads them
 * with `for await`. Events pushed before anyone reads are kept, so nothing is lost to a late reader.
 */
export class EventStream<T> implements AsyncIterable<T> {
  #buffer: T[] = [];
  #waiting: Array<(result: IteratorResult<T>) => void> = [];
  #ended = false;
  #listeners: Array<(item: T) => void> = [];

  push(item: T): void {
    if (this.#ended) return;
    for (const listener of this.#listeners) listener(item);
    const waiter = this.#waiting.shift();
    if (waiter) waiter({ value: item, done: false });
    else this.#buffer.push(item);
  }

  /** Also deliver every event to `listener` as it is pushed (the CLI and the trace use this). */
  listen(listener: (item: T) => void): void {
    this.#listeners.push(listener);
  }

  end(): void {
    this.#ended = true;
    for (const waiter of this.#waiting.splice(0)) waiter({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.#buffer.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiting.push(resolve));
      },
      return: () => {
        this.#buffer = [];
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
