/** AWSLambda: functions called by `$externalFunction`. Eddy validates the stage; no connector runs it yet. */
import { defineConnector } from "../spec.ts";

export const awsLambda = defineConnector({
  type: "AWSLambda",
  aliases: ["awslambda"],
  description: "AWS Lambda (`$externalFunction`): validated, not run by this build.",
  connection: { properties: { aws: { type: "object", description: "`{roleArn}`: accepted, not used." } } },
  stages: {
    $externalFunction: {
      mismatch: "Only AWS Lambda connection type is supported for $externalFunction",
      fields: {
        properties: {
          connectionName: { type: "string" },
          functionName: { type: "string" },
          execution: { enum: ["sync", "async"], description: "`sync` (default) waits for the result." },
          as: { type: "string" },
          onError: { enum: ["dlq", "ignore", "fail"] },
          payload: { type: "array", items: { type: "object" } },
          parallelism: { type: "integer", minimum: 1, maximum: 64 },
          partitionBy: {},
        },
        required: ["connectionName", "functionName"],
      },
    },
  },
});
