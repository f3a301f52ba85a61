import { execFileSync } from "node:child_process";
import { testServices } from "../../support/services.ts";

/**
 * Aborts every TCP connection this process holds to the test brokers, as a network failure does: the kernel
 * destroys the sockets (`ss -K`, SOCK_DESTROY), so clients see ECONNABORTED on their next read or write.
 * Only this process's connections are cut: other tests share the broker. Needs iproute2's `ss` and
 * CAP_NET_ADMIN; throws when no connection was cut, so a test never passes without the fault it meant.
 * Returns how many were cut.
 */
export function cutBrokerConnections(): number {
  const owner = `pid=${process.pid},`;
  let cut = 0;
  for (const broker of testServices().kafkaBrokers) {
    const port = broker.slice(broker.lastIndexOf(":") + 1);
    const filter = ["state", "established", `( dport = :${port} )`];
    const sockets = execFileSync("ss", ["-tnpH", ...filter], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.includes(owner));
    for (const line of sockets) {
      const [local, peer] = line.trim().split(/\s+/).slice(2, 4);
      execFileSync("ss", ["-K", "-tnH", "dst", peer, "src", local]);
      const left = execFileSync("ss", ["-tnH", "state", "established", "dst", peer, "src", local], {
        encoding: "utf8",
      });
      if (left.trim() === "") cut++;
    }
  }
  if (cut === 0)
    throw new Error("no broker connection was cut (needs `ss -K` from iproute2 and CAP_NET_ADMIN)");
  return cut;
}
