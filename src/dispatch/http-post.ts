/** One webhook POST over keep-alive connections (node:http/https), with a hard timeout. */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

export interface PostResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
}

export class WebhookPoster {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(maxSockets = 256) {
    this.http = new HttpAgent({ keepAlive: true, maxSockets });
    this.https = new HttpsAgent({ keepAlive: true, maxSockets });
  }

  /** Resolves with the response's status and headers (the body is discarded); rejects on network errors and timeouts. */
  post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<PostResult> {
    return new Promise((resolve, reject) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        reject(new Error(`invalid target URL '${url}'`));
        return;
      }
      const secure = target.protocol === "https:";
      const req = (secure ? httpsRequest : httpRequest)(
        target,
        {
          method: "POST",
          agent: secure ? this.https : this.http,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            "user-agent": "eddy-dispatch",
            ...headers,
          },
        },
        (res) => {
          res.resume();
          res.once("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
          res.once("error", reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
      req.once("error", reject);
      req.end(body);
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}
