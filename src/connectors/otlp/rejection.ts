/** A request the receiver refuses: the HTTP status, the message for the client, and `Retry-After` if retryable. */
export class Rejection extends Error {
  override readonly name = "Rejection";
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, message: string, retryAfterSeconds?: number) {
    super(message);
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
