// No request, however malformed, takes the server down: each case below is sent over a raw socket, and
// /health must still answer afterwards (an uncaught error in the server would also fail the test run).
import { connect, type Socket } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, TOKEN, type TestServer } from "./helpers.ts";

let server: TestServer;
let address: { host: string; port: number };
const P = "/api/v1/workspaces/default/processors";

beforeAll(async () => {
  server = await startTestServer({ maxBodyBytes: 64 * 1024, requestTimeoutMs: 1_000 });
  const url = new URL(server.url);
  address = { host: url.hostname, port: Number(url.port) };
});
afterAll(async () => server.close());

/** Writes `parts` to a fresh connection (pausing `pauseMs` between them) and collects what comes back. */
function exchange(parts: readonly (string | Buffer)[], options: { pauseMs?: number; waitMs?: number } = {}) {
  return new Promise<string>((resolve) => {
    const socket: Socket = connect(address);
    let received = "";
    const finish = (): void => {
      socket.destroy();
      resolve(received);
    };
    const timer = setTimeout(finish, options.waitMs ?? 3_000);
    socket.on("data", (chunk) => (received += chunk.toString("latin1")));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on("connect", async () => {
      for (const part of parts) {
        if (socket.destroyed) break;
        socket.write(part);
        if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
      }
    });
  });
}

async function expectHealthy(): Promise<void> {
  const reply = await server.api("GET", "/health", undefined, { token: null });
  expect(reply.status).toBe(200);
  expect(reply.body).toMatchObject({ status: "ok" });
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

const head = (lines: string[]): string => lines.join("\r\n") + "\r\n\r\n";
const host = (): string => `Host: 127.0.0.1:${address.port}`;

describe("request robustness", () => {
  it("refuses a chunked body over the limit with a valid token, and keeps serving", async () => {
    const chunk = Buffer.alloc(256 * 1024, "x");
    const parts: (string | Buffer)[] = [
      head([
        `POST ${P} HTTP/1.1`,
        host(),
        `Authorization: Bearer ${TOKEN}`,
        "Content-Type: application/json",
        "Transfer-Encoding: chunked",
      ]),
    ];
    for (let i = 0; i < 8; i++) parts.push(`${chunk.length.toString(16)}\r\n`, chunk, "\r\n");
    parts.push("0\r\n\r\n");
    const response = await exchange(parts);
    expect(statusOf(response)).toBe(413);
    expect(response).toContain("PAYLOAD_TOO_LARGE");
    await expectHealthy();
    expect((await server.api("GET", P)).body.results).toEqual([]);
  });

  it("answers a body cut short of its Content-Length once the client goes away", async () => {
    const response = await exchange(
      [
        head([
          `POST ${P} HTTP/1.1`,
          host(),
          `Authorization: Bearer ${TOKEN}`,
          "Content-Type: application/json",
          "Content-Length: 5000",
        ]),
        '{"name": "cut',
      ],
      { waitMs: 300 },
    );
    expect(response).toBe(""); // nothing to answer yet; then the socket closes
    await expectHealthy();
  });

  it("times out a body that trickles in slower than the request timeout", async () => {
    const parts = [
      head([
        `POST ${P} HTTP/1.1`,
        host(),
        `Authorization: Bearer ${TOKEN}`,
        "Content-Type: application/json",
        "Content-Length: 100",
      ]),
    ];
    for (let i = 0; i < 10; i++) parts.push("{");
    const response = await exchange(parts, { pauseMs: 300, waitMs: 6_000 });
    expect(statusOf(response)).toBe(408);
    await expectHealthy();
  });

  it("refuses a header flood and an oversized header", async () => {
    const many = Array.from({ length: 5_000 }, (_, i) => `X-Flood-${i}: ${"y".repeat(20)}`);
    expect([400, 431]).toContain(statusOf(await exchange([head(["GET /health HTTP/1.1", host(), ...many])])));
    const huge = `X-Huge: ${"z".repeat(64 * 1024)}`;
    expect([400, 431]).toContain(statusOf(await exchange([head(["GET /health HTTP/1.1", host(), huge])])));
    await expectHealthy();
  });

  it("answers malformed request lines, bad chunk sizes and bad Content-Lengths with 4xx", async () => {
    const cases = [
      "GARBAGE\r\n\r\n",
      head(["GET /health HTTP/9.9", host()]),
      head([`POST ${P} HTTP/1.1`, host(), `Authorization: Bearer ${TOKEN}`, "Transfer-Encoding: chunked"]) +
        "zz\r\nabc\r\n0\r\n\r\n",
      head([`POST ${P} HTTP/1.1`, host(), `Authorization: Bearer ${TOKEN}`, "Content-Length: -1"]),
      head([
        `POST ${P} HTTP/1.1`,
        host(),
        `Authorization: Bearer ${TOKEN}`,
        "Content-Length: 3",
        "Content-Length: 4",
      ]) + "abcd",
      head([`GET /%E0%A4%A HTTP/1.1`, host(), `Authorization: Bearer ${TOKEN}`]),
    ];
    for (const request of cases) {
      const status = statusOf(await exchange([request], { waitMs: 1_500 }));
      expect(status >= 400 && status < 500, `${JSON.stringify(request.slice(0, 60))} → ${status}`).toBe(true);
    }
    await expectHealthy();
  });

  it("survives random bodies, content types and methods", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("POST", "PATCH", "DELETE", "GET", "PUT"),
        fc.constantFrom(P, `${P}/p:start`, "/api/v1/workspaces", `${P}/p`, "/metrics"),
        fc.constantFrom(
          "application/json",
          "text/plain",
          "",
          "application/json; charset=latin1",
          "multipart/form-data",
        ),
        fc.uint8Array({ maxLength: 2048 }),
        fc.boolean(),
        async (method, path, contentType, body, chunked) => {
          const headers = [
            `${method} ${path} HTTP/1.1`,
            host(),
            `Authorization: Bearer ${TOKEN}`,
            "Connection: close",
          ];
          if (contentType) headers.push(`Content-Type: ${contentType}`);
          const bytes = Buffer.from(body);
          const payload = chunked
            ? [
                head([...headers, "Transfer-Encoding: chunked"]),
                `${bytes.length.toString(16)}\r\n`,
                bytes,
                "\r\n0\r\n\r\n",
              ]
            : [head([...headers, `Content-Length: ${bytes.length}`]), bytes];
          const status = statusOf(await exchange(payload, { waitMs: 3_000 }));
          expect(status, `${method} ${path} ${contentType}`).toBeGreaterThanOrEqual(200);
          expect(status).toBeLessThan(500);
        },
      ),
      { numRuns: 60 },
    );
    await expectHealthy();
  });
});
