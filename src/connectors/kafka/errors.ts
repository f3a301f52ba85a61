/**
 * Turns `@platformatic/kafka` errors into {@link ConnectorError}s with `retryable` set: authentication and
 * authorisation failures, unknown topics (auto-creation off) and invalid topic names cannot heal by
 * themselves; connection failures, timeouts and broker-side transient errors (leader elections, a broker
 * restarting) can.
 */
import { ConnectorError } from "../../runtime/errors.ts";
import { errorChain, messageOf } from "../retry.ts";

interface KafkaErrorLike {
  code?: string;
  apiId?: string;
  canRetry?: boolean;
  message?: string;
}

const AUTH_API_ERRORS = new Set([
  "SASL_AUTHENTICATION_FAILED",
  "ILLEGAL_SASL_STATE",
  "UNSUPPORTED_SASL_MECHANISM",
  "TOPIC_AUTHORIZATION_FAILED",
  "GROUP_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
]);
const BAD_TOPIC_API_ERRORS = new Set(["INVALID_TOPIC_EXCEPTION", "UNKNOWN_TOPIC_ID"]);

/** Why a Kafka error cannot heal by itself, or undefined when it may (then it is retryable). */
function permanentReason(error: unknown): string | undefined {
  for (const e of errorChain(error)) {
    const k = e as KafkaErrorLike;
    if (k.code === "PLT_KFK_AUTHENTICATION" || (k.apiId !== undefined && AUTH_API_ERRORS.has(k.apiId))) {
      return "authentication or authorisation failed: check the connection's authentication (mechanism, username, password) and the user's ACLs";
    }
    if (k.code === "PLT_KFK_USER" && typeof k.message === "string" && /^Unknown topics? /.test(k.message)) {
      return `${k.message.replace(/\.$/, "")}: the topic does not exist and the broker does not create topics automatically; create it or fix the topic name`;
    }
    if (k.apiId === "PRODUCER_FENCED" || k.apiId === "TRANSACTIONAL_ID_NOT_FOUND") {
      return `the transactional id was taken over by another producer (${k.apiId}): another instance runs this processor, or two processors share a config.transactionalId`;
    }
    if (k.apiId === "MESSAGE_TOO_LARGE" || k.apiId === "RECORD_LIST_TOO_LARGE") {
      return `the broker refused the request as too large (${k.apiId}): raise the topic's max.message.bytes or make the documents smaller`;
    }
    if (k.apiId !== undefined && BAD_TOPIC_API_ERRORS.has(k.apiId)) {
      return `invalid topic (${k.apiId}): fix the topic name`;
    }
  }
  return undefined;
}

/** Refusals of a record itself: it goes to the DLQ (after its attempts), the rest of the batch is written. */
const RECORD_API_ERRORS = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  "CORRUPT_MESSAGE",
  "INVALID_TIMESTAMP",
]);
/** Refusals of a topic: one document's concern when its topic comes from an expression, else the processor's. */
const TOPIC_API_ERRORS = new Set([
  "INVALID_TOPIC_EXCEPTION",
  "UNKNOWN_TOPIC_OR_PARTITION",
  "POLICY_VIOLATION",
]);

/**
 * True when `error` concerns the records sent rather than the connection: the broker refused a record (too
 * large, failing its validation, e.g. no key for a compacted topic) or, with `perDocumentTopics`, a topic.
 */
export function isRecordError(error: unknown, perDocumentTopics: boolean): boolean {
  for (const e of errorChain(error)) {
    const k = e as KafkaErrorLike;
    if (k.apiId !== undefined && RECORD_API_ERRORS.has(k.apiId)) return true;
    if (!perDocumentTopics) continue;
    if (k.apiId !== undefined && TOPIC_API_ERRORS.has(k.apiId)) return true;
    if (k.code === "PLT_KFK_USER" && typeof k.message === "string" && /^Unknown topics? /.test(k.message))
      return true;
  }
  return false;
}

/** True when retrying the same operation may succeed. */
export function isTransientKafkaError(error: unknown): boolean {
  if (error instanceof ConnectorError) return error.retryable;
  return permanentReason(error) === undefined;
}

/** `error` as a ConnectorError whose message starts with `action` ("Kafka $emit to 'orders' failed"). */
export function kafkaFailure(error: unknown, action: string): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const permanent = permanentReason(error);
  if (permanent !== undefined)
    return new ConnectorError(`${action}: ${permanent}`, { retryable: false, cause: error });
  return new ConnectorError(`${action}: ${innermostMessage(error)}`, { retryable: true, cause: error });
}

/** Why a Kafka operation failed, without saying which: the permanent reason, else the most specific message. */
export function kafkaReason(error: unknown): string {
  if (error instanceof ConnectorError) return error.message;
  return permanentReason(error) ?? innermostMessage(error);
}

/** The most specific message in the chain ("connect ECONNREFUSED 127.0.0.1:9092", not "metadata failed 3 times."). */
function innermostMessage(error: unknown): string {
  let last: unknown = error;
  for (const e of errorChain(error)) last = e;
  const outer = messageOf(error);
  const inner = messageOf(last);
  return inner === outer ? outer : `${outer.replace(/\.$/, "")} (${inner.replace(/\.$/, "")})`;
}
