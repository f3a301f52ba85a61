/** The fields of an ASP dead letter queue record for an operator error, in ASP's order. */
export const ASP_DLQ_RECORD_KEYS = [
  "_stream_meta",
  "errInfo",
  "operatorName",
  "doc",
  "processorName",
  "dlqTime",
];
