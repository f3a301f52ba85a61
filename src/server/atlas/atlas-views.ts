/**
 * Eddy's workspaces, connections and processors in the Atlas Admin API's shapes: stream instances
 * (`StreamsTenant`), connections (`StreamsConnection`, settings at the top level) and processors
 * (`StreamsProcessorWithStats`), and paginated lists.
 */
import { createHash } from "node:crypto";
import type { ConnectionView } from "../../control/connection-registry.ts";
import { connection } from "../connection-shape.ts";
import type { WorkspaceView } from "../../control/control-plane.ts";
import type { ProcessorView } from "../../control/processor-manager.ts";
import type { Doc } from "../../mql/index.ts";

/** Atlas's paginated list envelope. */
export function page(results: readonly unknown[]): Doc {
  return { links: [], results, totalCount: results.length };
}

/** A workspace's stable 24-hex id (workspaces have names only). */
function workspaceId(name: string): string {
  return createHash("sha256").update(`workspace:${name}`).digest("hex").slice(0, 24);
}

export function instance(
  workspace: WorkspaceView,
  groupId: string,
  hostnames: readonly string[],
  connections?: readonly ConnectionView[],
): Doc {
  return {
    _id: workspaceId(workspace.name),
    name: workspace.name,
    groupId,
    hostnames,
    // Eddy runs where it is started: the region and tier are what Atlas's defaults would be, for clients that read them.
    dataProcessRegion: { cloudProvider: "AWS", region: "VIRGINIA_USA" },
    streamConfig: { tier: "SP30" },
    ...(connections ? { connections: connections.map(connection) } : {}),
  };
}

export function processor(view: ProcessorView, stats?: Doc): Doc {
  return {
    _id: view.id,
    name: view.name,
    pipeline: view.pipeline,
    state: view.state,
    ...(Object.keys(view.options).length > 0 ? { options: view.options } : {}),
    ...(view.errorMsg !== undefined ? { errorMsg: view.errorMsg } : {}),
    ...(stats ? { stats } : {}),
  };
}
