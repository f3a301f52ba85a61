/** AWSLambda: functions called by `$externalFunction`. Eddy validates the stage; no connector runs it yet. */
import { defineConnector } from "../spec.ts";

export const awsLambda = defineConnector({
  type: "AWSLambda",
  aliases: ["awslambda"],
  description: "AWS Lambda (`$externalFunction`): validated, not run by this build.",
  connection: { properties: { aws: { type: "object", description: "`{roleArn}`: accepted, not used." } } },
});
