/**
 * Every connection type this build knows, one line each, in the order messages list them. A new type is a
 * folder with a `spec.ts` (docs/connectors.md "Adding a connection type") and one line here.
 */
import type { ConnectorCatalog } from "../pipeline/connector-specs.ts";
import type { ConnectorSpec } from "./spec.ts";
import { cluster } from "./mongodb/spec.ts";
import { kafka } from "./kafka/spec.ts";
import { sample } from "./sample/spec.ts";
import { https } from "./https/spec.ts";
import { file } from "./file/spec.ts";
import { s3 } from "./s3/spec.ts";
import { awsLambda } from "./aws-lambda/spec.ts";
import { testLog } from "./test-log/spec.ts";
import { postgresql } from "./postgresql/spec.ts";
import { otlp } from "./otlp/spec.ts";
import { scheduled } from "./scheduled/spec.ts";

const SPECS: readonly ConnectorSpec[] = [
  cluster,
  kafka,
  sample,
  https,
  file,
  s3,
  awsLambda,
  testLog,
  postgresql,
  otlp,
  scheduled,
];

/** The connector registry: what the planner, the connection validator, the factory and `sp schema` consult. */
export const CONNECTORS: ConnectorCatalog & {
  readonly specs: readonly ConnectorSpec[];
  find(t: string): ConnectorSpec | undefined;
} = {
  specs: SPECS,
  find(typeOrAlias: string): ConnectorSpec | undefined {
    const wanted = typeOrAlias.toLowerCase();
    return SPECS.find((spec) => spec.type.toLowerCase() === wanted || spec.aliases.includes(wanted));
  },
};
