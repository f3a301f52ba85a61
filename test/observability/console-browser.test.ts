/**
 * The web console in a real headless Chromium (Debian's `chromium` at /usr/bin/chromium, driven by
 * playwright-core, which downloads no browser). Skipped, saying so, where that browser is not installed.
 * On a failure the page's screenshot is attached to the test's output. With EDDY_CONSOLE_SCREENSHOTS=1
 * the screenshots in docs/images/ (used by docs/console.md) are taken afresh.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, TOKEN, type TestServer } from "../server/helpers.ts";
import { testServices, uniqueName } from "../support/services.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAS_CHROMIUM = existsSync(CHROMIUM);
if (!HAS_CHROMIUM) {
  console.warn(
    `console browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium to run it)`,
  );
}
const P = "/api/v1/workspaces/default/processors";
const OUTPUT = join(process.cwd(), "test-output", "console");
const DOC_IMAGES = join(process.cwd(), "docs", "images");
const updateDocs = process.env.EDDY_CONSOLE_SCREENSHOTS === "1";

describe.skipIf(!HAS_CHROMIUM)("web console in headless Chromium", () => {
  let server: TestServer;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    server = await startTestServer({ consoleIntervalMs: 300 });
    const connection = await server.api("POST", "/api/v1/workspaces/default/connections", {
      name: "solar",
      type: "Sample",
      config: { dataset: "sample_stream_solar", rate: 40, seed: 3 },
    });
    expect(connection.status).toBe(201);
    const atlas = { name: "atlas", type: "Cluster", config: { uri: testServices().mongodbUri } };
    expect((await server.api("POST", "/api/v1/workspaces/default/connections", atlas)).status).toBe(201);
    const created = await server.api("POST", P, {
      name: "solar",
      pipeline: [
        { $source: { connectionName: "solar" } },
        // Fault documents (no obs) go to the dead letter queue.
        { $validate: { validator: { $jsonSchema: { required: ["obs"] } }, validationAction: "dlq" } },
        { $addFields: { kw: { $divide: ["$obs.watts", 1000] } } },
        { $emit: { connectionName: "__testLog" } },
      ],
      options: { dlq: { connectionName: "atlas", db: uniqueName("console"), coll: "dlq" } },
    });
    expect(created.body).toMatchObject({ name: "solar" });
    expect((await server.api("POST", `${P}/solar:start`)).status).toBe(200);
    profile = await mkdtemp(join(tmpdir(), "eddy-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it("logs in, shows counters rising, plots a processor, and stops it after confirmation", async ({
    annotate,
  }) => {
    const page = await context.newPage();
    try {
      await run(page);
    } catch (error) {
      await mkdir(OUTPUT, { recursive: true });
      const path = join(OUTPUT, "failure.png");
      await page.screenshot({ path, fullPage: true }).catch(() => undefined);
      await annotate(`screenshot of the page when the test failed: ${path}`, "screenshot", {
        path,
        contentType: "image/png",
      });
      throw error;
    }
  }, 90_000);

  async function run(page: Page): Promise<void> {
    await page.goto(`${server.url}/console`);
    await shot(page, "console-login.png");

    // A wrong token is refused on the page.
    await page.getByLabel("API token").fill("not-the-token");
    await page.getByRole("button", { name: "Log in" }).click();
    await expectText(page, "#login-error", /not valid/);

    // Keyboard only: type the token and press Enter.
    await page.getByLabel("API token").fill(TOKEN);
    await page.keyboard.press("Enter");
    const row = page.locator("#processors tbody tr", { hasText: "solar" });
    await row.waitFor();
    const cells = row.locator("td");
    await expectText(page, "#processors tbody tr td:nth-child(3)", /STARTED/);

    const first = await counter(cells.nth(3));
    await expect.poll(() => counter(cells.nth(3)), { timeout: 20_000 }).toBeGreaterThan(first);

    await page.getByRole("button", { name: "Show details of default/solar" }).click();
    await page.locator("#plot-throughput canvas").waitFor();
    await page.locator("#plot-latency canvas").waitFor();
    await page.locator("#plot-lag canvas").waitFor();
    await expectText(page, "#pipeline", /\$source[\s\S]*\$validate[\s\S]*\$addFields[\s\S]*\$emit/);
    await expectText(page, "#dlq", /found to be invalid/, 20_000);
    await expectText(page, "#sample", /device_/, 20_000);
    // Let the plots gather a few points for the screenshot.
    await page.waitForTimeout(2_000);

    // 1280×800 fits without horizontal scrolling.
    const overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, "console-processor.png", true);

    // Stop asks for confirmation; the confirm button has focus, so Enter confirms.
    await page.getByRole("button", { name: "Stop default/solar" }).click();
    const dialog = page.locator("dialog#confirm");
    await expectText(page, "#confirm-text", /Stop processor default\/solar\?/);
    await shot(page, "console-confirm.png");
    await page.keyboard.press("Enter");
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await expectText(page, "#processors tbody tr td:nth-child(3)", /STOPPED/, 20_000);
    const stats = await server.api("GET", `${P}/solar`);
    expect(stats.body.state).toBe("STOPPED");
  }

  async function shot(page: Page, name: string, fullPage = false): Promise<void> {
    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, name), fullPage });
    if (updateDocs) await page.screenshot({ path: join(DOC_IMAGES, name), fullPage });
  }
});

async function counter(cell: { textContent(): Promise<string | null> }): Promise<number> {
  return Number((await cell.textContent())?.replace(/,/g, ""));
}

async function expectText(page: Page, selector: string, pattern: RegExp, timeout = 10_000): Promise<void> {
  await expect
    .poll(async () => (await page.locator(selector).first().textContent()) ?? "", { timeout })
    .toMatch(pattern);
}
