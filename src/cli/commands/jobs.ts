/** `sp jobs list|retry|cancel`: event-dispatch jobs on a server running dispatch (docs/event-dispatch.md). */
import { UsageError } from "../args.ts";
import { EXIT, reportError } from "../errors.ts";
import { formatTimestamp } from "../format.ts";
import type { CliIo } from "../io.ts";
import { reportOutcomes, runEach } from "../outcomes.ts";
import { REMOTE_OPTIONS_HELP, remoteContext, type Remote } from "../remote.ts";
import { formatTable, terminalWidth } from "../table.ts";

export const JOBS_USAGE = `usage: sp jobs <action> [options]

  list [--status S] [--subscription ID] [--event ID] [--client ID] [--limit N]
                   newest jobs first (status PENDING, IN_PROGRESS, RETRY, DELIVERED, FAILED, CANCELLED)
  retry ID...      deliver FAILED, CANCELLED or waiting jobs again now, with a fresh attempt budget
  cancel ID...     cancel PENDING, RETRY or IN_PROGRESS jobs
  stats [--verbose]
                   the matcher's counters under ASP's stats names (processor flowcatalyst-matcher,
                   dead letters in the dispatch_dlq collection) and the jobs by status

The server must run event dispatch (sp serve with FC_MONGO_URL set).

${REMOTE_OPTIONS_HELP}`;

const FILTERS = {
  status: "status",
  subscription: "subscriptionId",
  event: "eventId",
  client: "clientId",
  limit: "limit",
};

export async function jobsCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = args;
  if (action === undefined || action === "--help" || action === "-h" || action === "help") {
    io.stdout.write(JOBS_USAGE + "\n");
    return action === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!["list", "retry", "cancel", "stats"].includes(action)) {
    io.stderr.write(`sp jobs: unknown action '${action}'; expected one of list, retry, cancel, stats\n`);
    return EXIT.usage;
  }
  try {
    const remote = await remoteContext(rest, io, { valued: Object.keys(FILTERS), flags: ["verbose"] });
    if (remote.parsed.flags.has("help")) {
      io.stdout.write(JOBS_USAGE + "\n");
      return EXIT.ok;
    }
    if (action === "list") return await listJobs(remote);
    if (action === "stats") return await dispatchStats(remote);
    const ids = remote.parsed.positional;
    if (ids.length === 0)
      throw new UsageError(`${action} needs job ids: sp jobs ${action} ID... (sp jobs list shows them)`);
    const outcomes = await runEach(ids, {
      action: action === "retry" ? "scheduled for retry" : "cancelled",
      name: (id) => id,
      run: async (id) => void (await remote.client.dispatchJobAction(id, action as "retry" | "cancel")),
      hint: (_id, error) =>
        error.status === 409 ? "sp jobs list --status FAILED shows jobs that can be retried" : undefined,
    });
    return reportOutcomes(remote, "job", outcomes);
  } catch (error) {
    return reportError(error, io, false);
  }
}

async function listJobs(remote: Remote): Promise<number> {
  const query: Record<string, string> = {};
  for (const [option, param] of Object.entries(FILTERS)) {
    const value = remote.parsed.options.get(option);
    if (value !== undefined) query[param] = value;
  }
  const jobs = await remote.client.listDispatchJobs(query);
  if (remote.json) {
    remote.io.stdout.write(JSON.stringify({ results: jobs }) + "\n");
    return EXIT.ok;
  }
  const text = (value: unknown): string => (value === null || value === undefined ? "-" : String(value));
  remote.io.stdout.write(
    formatTable(
      [
        { header: "JOB" },
        { header: "STATUS" },
        { header: "ATTEMPTS", align: "right" },
        { header: "POOL" },
        { header: "TARGET" },
        { header: "SCHEDULED (UTC)" },
        { header: "LAST ERROR" },
      ],
      jobs.map((j) => [
        text(j._id),
        text(j.status),
        text(j.attempts),
        text(j.pool_code),
        text(j.target),
        formatTimestamp(j.scheduled_at),
        text(j.last_error),
      ]),
      { width: terminalWidth(remote.io.stdout) },
    ),
  );
  return EXIT.ok;
}

async function dispatchStats(remote: Remote): Promise<number> {
  const reply = await remote.client.dispatchStats({ verbose: remote.parsed.flags.has("verbose") });
  if (remote.json) {
    remote.io.stdout.write(JSON.stringify(reply) + "\n");
    return EXIT.ok;
  }
  const matcher = (reply.matcher ?? {}) as Record<string, unknown>;
  const jobs = (reply.jobs ?? {}) as Record<string, unknown>;
  const rows: string[][] = [
    ["processor", String(matcher.name)],
    ["status", String(matcher.status)],
    ...["inputMessageCount", "outputMessageCount", "dlqMessageCount"].map((f) => [
      f,
      String(matcher[f] ?? 0),
    ]),
    ["lastMessageIn", formatTimestamp(matcher.lastMessageIn)],
    ...Object.entries(jobs).map(([status, n]) => [`jobs ${status}`, String(n)]),
  ];
  remote.io.stdout.write(
    formatTable([{ header: "FIELD" }, { header: "VALUE", align: "right" }], rows, {
      width: terminalWidth(remote.io.stdout),
    }),
  );
  return EXIT.ok;
}
