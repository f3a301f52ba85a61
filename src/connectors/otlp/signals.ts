/** The three OTLP signals, their HTTP paths and the names of their top-level request fields. */
export const SIGNALS = ["traces", "metrics", "logs"] as const;
export type Signal = (typeof SIGNALS)[number];

export function isSignal(value: unknown): value is Signal {
  return typeof value === "string" && (SIGNALS as readonly string[]).includes(value);
}

/** `POST /v1/<signal>` as the OTLP/HTTP specification names them. */
export const SIGNAL_PATHS: Readonly<Record<string, Signal>> = {
  "/v1/traces": "traces",
  "/v1/metrics": "metrics",
  "/v1/logs": "logs",
};
