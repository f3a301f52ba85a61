// The Eddy web console (docs/console.md): plain browser JavaScript, no framework, no build step. It talks
// to the same API as `sp`, with the token given on the login page (kept for this tab only), and follows
// the server's live figures over server-sent events read with fetch (EventSource cannot send a token).
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "eddy-console-token";
  const SPAN_S = 15 * 60;
  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    rows: new Map(),
    series: {},
    selected: undefined,
    plots: [],
    stream: undefined,
    lastOutput: -1,
    lastDlq: -1,
  };

  const count = (n) => (typeof n === "number" ? Math.round(n).toLocaleString("en-US") : "–");
  const bytes = (n) => {
    const units = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
  };
  const duration = (s) => {
    s = Math.round(s);
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
    return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  };
  const lagText = (row) =>
    row.lagRecords !== undefined
      ? `${count(row.lagRecords)} msg${row.lagRecords === 1 ? "" : "s"}`
      : row.lagSeconds !== undefined
        ? duration(row.lagSeconds)
        : "–";
  const keyOf = (row) => `${row.workspace}/${row.name}`;
  const processorPath = (row) =>
    `/api/v1/workspaces/${encodeURIComponent(row.workspace)}/processors/${encodeURIComponent(row.name)}`;

  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: {
        Authorization: `Bearer ${state.token}`,
        ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const error = new Error((json && json.detail) || response.statusText);
      error.status = response.status;
      throw error;
    }
    return json;
  }

  // ---- login ----
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    state.token = $("token").value.trim();
    $("login-error").textContent = "";
    try {
      await api("GET", "/api/v1/workspaces");
    } catch (error) {
      $("login-error").textContent =
        error.status === 401 || error.status === 403
          ? "That token is not valid for this server."
          : error.message;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, state.token);
    $("token").value = "";
    showDashboard();
  });

  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = undefined;
    state.stream?.abort();
    $("dashboard").hidden = true;
    $("process").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    $("token").focus();
  });

  function showDashboard() {
    $("login").hidden = true;
    $("dashboard").hidden = false;
    $("process").hidden = false;
    $("logout").hidden = false;
    connect();
  }

  // ---- live events ----
  async function connect() {
    state.stream?.abort();
    const controller = new AbortController();
    state.stream = controller;
    $("live").textContent = "connecting…";
    try {
      const response = await fetch("/api/v1/console/events", {
        headers: { Authorization: `Bearer ${state.token}` },
        signal: controller.signal,
      });
      if (response.status === 401 || response.status === 403) {
        $("logout").click();
        $("login-error").textContent = "The token is no longer valid; log in again.";
        return;
      }
      if (!response.ok || !response.body) throw new Error(response.statusText);
      $("live").textContent = "live";
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          handleEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      if (controller.signal.aborted) return;
    }
    if (controller.signal.aborted || !state.token) return;
    $("live").textContent = "reconnecting…";
    setTimeout(connect, 2000);
  }

  function handleEvent(block) {
    let event = "message";
    let data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    const payload = JSON.parse(data);
    if (event === "history") {
      state.series = payload.processors;
      applySample(payload.sample, false);
    } else if (event === "sample") {
      for (const [key, point] of Object.entries(payload.points)) {
        const series = (state.series[key] ??= []);
        series.push(point);
        while (series.length > 0 && series[0].t < point.t - SPAN_S * 1000) series.shift();
      }
      applySample(payload, true);
    }
  }

  function applySample(sample, fresh) {
    renderProcess(sample.process);
    renderTable(sample.processors);
    if (state.selected) {
      updatePlots();
      const row = state.rows.get(state.selected)?.row;
      if (row && fresh) refreshRecords(row);
    }
  }

  function renderProcess(p) {
    const items = [
      ["CPU", `${p.cpuPercent.toFixed(1)} %`],
      ["RSS", bytes(p.rssBytes)],
      ["Heap", bytes(p.heapUsedBytes)],
      ["Event-loop p99", `${(p.eventLoopDelayP99Seconds * 1000).toFixed(1)} ms`],
    ];
    $("process").replaceChildren(
      ...items.map(([term, value]) => {
        const div = document.createElement("div");
        const dt = document.createElement("dt");
        const dd = document.createElement("dd");
        dt.textContent = term;
        dd.textContent = value;
        div.append(dt, dd);
        return div;
      }),
    );
  }

  // ---- processor table (rows are updated in place, so keyboard focus survives live updates) ----
  function renderTable(rows) {
    const body = document.querySelector("#processors tbody");
    const seen = new Set();
    for (const row of rows) {
      const key = keyOf(row);
      seen.add(key);
      let entry = state.rows.get(key);
      if (!entry) {
        entry = createRow(row);
        state.rows.set(key, entry);
        body.append(entry.tr);
      }
      entry.row = row;
      const retrying = row.state === "STARTED" && row.status === "error";
      entry.cells.state.textContent = retrying ? "STARTED · retrying" : row.state;
      entry.cells.state.className = `state ${retrying ? "error" : row.state}`;
      entry.cells.state.title = row.error ?? "";
      entry.cells.input.textContent = count(row.inputMessageCount);
      entry.cells.output.textContent = count(row.outputMessageCount);
      entry.cells.dlq.textContent = count(row.dlqMessageCount);
      entry.cells.lag.textContent = row.state === "STARTED" ? lagText(row) : "–";
      entry.buttons.start.disabled = row.state === "STARTED";
      entry.buttons.stop.disabled = row.state !== "STARTED";
      entry.buttons.restart.disabled = row.state !== "STARTED";
      entry.tr.classList.toggle("selected", key === state.selected);
      entry.open.setAttribute("aria-pressed", String(key === state.selected));
    }
    for (const [key, entry] of state.rows) {
      if (seen.has(key)) continue;
      entry.tr.remove();
      state.rows.delete(key);
      if (state.selected === key) closeDetails();
    }
    $("empty").hidden = rows.length > 0;
  }

  function createRow(row) {
    const tr = document.createElement("tr");
    const cell = (cls) => {
      const td = document.createElement("td");
      if (cls) td.className = cls;
      tr.append(td);
      return td;
    };
    cell().textContent = row.workspace;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "link";
    open.textContent = row.name;
    open.setAttribute("aria-label", `Show details of ${row.workspace}/${row.name}`);
    open.addEventListener("click", () => select(keyOf(row)));
    cell().append(open);
    const cells = {
      state: cell(),
      input: cell("num"),
      output: cell("num"),
      dlq: cell("num"),
      lag: cell("num"),
    };
    const actions = document.createElement("div");
    actions.className = "actions";
    const button = (label, verb, run, danger) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.setAttribute("aria-label", `${label} ${row.workspace}/${row.name}`);
      if (danger) b.className = "danger";
      b.addEventListener("click", () => act(state.rows.get(keyOf(row)).row, verb, run));
      actions.append(b);
      return b;
    };
    const path = processorPath(row);
    const buttons = {
      start: button("Start", "Start", () => api("POST", `${path}:start`, {})),
      stop: button("Stop", "Stop", () => api("POST", `${path}:stop`, {})),
      restart: button("Restart", "Restart", async () => {
        await api("POST", `${path}:stop`, {});
        await api("POST", `${path}:start`, {});
      }),
      drop: button("Drop", "Drop", () => api("DELETE", path), true),
    };
    cell().append(actions);
    return { tr, cells, buttons, open, row };
  }

  async function act(row, verb, run) {
    $("action-error").textContent = "";
    const confirmed = await confirmDialog(
      verb === "Drop"
        ? `Drop processor ${row.workspace}/${row.name}? Its definition, checkpoints and stats are deleted.`
        : `${verb} processor ${row.workspace}/${row.name}?`,
      verb,
    );
    if (!confirmed) return;
    try {
      await run();
      $("live").textContent = `${verb.toLowerCase()} requested for ${row.name}`;
    } catch (error) {
      $("action-error").textContent = `${verb} ${row.name} failed: ${error.message}`;
    }
  }

  function confirmDialog(text, verb) {
    const dialog = $("confirm");
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = verb;
    dialog.returnValue = "";
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.showModal();
      $("confirm-ok").focus();
    });
  }

  // ---- details: plots, pipeline, dead letters, sample ----
  async function select(key) {
    state.selected = key;
    state.lastOutput = -1;
    state.lastDlq = -1;
    const entry = state.rows.get(key);
    if (!entry) return;
    for (const [k, e] of state.rows) {
      e.tr.classList.toggle("selected", k === key);
      e.open.setAttribute("aria-pressed", String(k === key));
    }
    $("details").hidden = false;
    $("details-title").textContent = `${entry.row.workspace} / ${entry.row.name}`;
    buildPlots();
    refreshRecords(entry.row);
    try {
      const processor = await api("GET", processorPath(entry.row));
      renderPipeline(processor.pipeline ?? []);
    } catch (error) {
      $("pipeline").replaceChildren(text("li", `could not read the pipeline: ${error.message}`));
    }
  }

  function closeDetails() {
    state.selected = undefined;
    $("details").hidden = true;
    for (const plot of state.plots) plot.destroy();
    state.plots = [];
  }

  function buildPlots() {
    for (const plot of state.plots) plot.destroy();
    const width = Math.max(240, $("plot-throughput").clientWidth || 380);
    const make = (id, series) =>
      new uPlot(
        {
          width,
          height: 200,
          series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 1.5, spanGaps: false }))],
          axes: [{}, { size: 56 }],
          legend: { live: false },
        },
        [[]],
        $(id),
      );
    state.plots = [
      make("plot-throughput", [
        ["in", "#0b6bcb"],
        ["out", "#137333"],
        ["dlq", "#b3261e"],
      ]),
      make("plot-latency", [
        ["p50", "#0b6bcb"],
        ["p95", "#a15c00"],
        ["p99", "#b3261e"],
      ]),
      make("plot-lag", [["lag", "#6a3fb5"]]),
    ];
    updatePlots();
  }

  function updatePlots() {
    const points = state.series[state.selected] ?? [];
    const t = points.map((p) => p.t / 1000);
    const [throughput, latency, lag] = state.plots;
    throughput?.setData([
      t,
      points.map((p) => p.inRate),
      points.map((p) => p.outRate),
      points.map((p) => p.dlqRate),
    ]);
    latency?.setData([t, points.map((p) => p.p50), points.map((p) => p.p95), points.map((p) => p.p99)]);
    lag?.setData([t, points.map((p) => p.lag)]);
    const row = state.rows.get(state.selected)?.row;
    $("lag-caption").textContent =
      row?.lagRecords !== undefined
        ? "Source lag (records)"
        : row?.lagSeconds !== undefined
          ? "Source lag (s)"
          : "Source lag";
  }

  function renderPipeline(pipeline) {
    $("pipeline").replaceChildren(
      ...pipeline.map((stage) => {
        const [name, spec] = Object.entries(stage)[0] ?? ["?", {}];
        const li = document.createElement("li");
        li.append(text("div", name, "stage"), text("div", summarize(name, spec), "summary"));
        return li;
      }),
    );
  }

  function summarize(name, spec) {
    if (spec && typeof spec === "object" && (name === "$source" || name === "$emit" || name === "$merge")) {
      const into = spec.into ?? spec;
      const target = into.topic ?? spec.topic ?? [into.db, into.coll].filter(Boolean).join(".");
      return [into.connectionName ?? spec.connectionName, target].filter(Boolean).join(" · ") || "inline";
    }
    const json = JSON.stringify(spec);
    return json.length > 140 ? `${json.slice(0, 137)}…` : json;
  }

  // A scaled-out processor's tasks (options.parallelism): where each runs, its partitions and lag.
  async function refreshTasks(row) {
    try {
      const { stats } = await api("GET", `${processorPath(row)}/stats`);
      const tasks = stats?.tasks ?? [];
      $("tasks-section").hidden = tasks.length === 0;
      const partitionsOf = (keys) => (keys ?? []).map((k) => k.slice(k.lastIndexOf(":") + 1)).join(", ");
      $("tasks")
        .querySelector("tbody")
        .replaceChildren(
          ...tasks.map((task) => {
            const tr = document.createElement("tr");
            tr.append(
              text("td", String(task.task), "num"),
              text("td", task.instance),
              text("td", task.partitions.join(", ")),
              text("td", partitionsOf(task.sourcePartitions)),
              text("td", count(task.inputMessageCount), "num"),
              text("td", count(task.outputMessageCount), "num"),
              text("td", count(task.lag), "num"),
            );
            return tr;
          }),
        );
      $("tasks-note").textContent =
        `Processor totals (every record once): in ${count(stats.inputMessageCount)}, out ` +
        `${count(stats.outputMessageCount)}, DLQ ${count(stats.dlqMessageCount)}. A task's In/Out count what ` +
        "ran on it: a partition that moved is counted by each task that ran it.";
    } catch {
      $("tasks-section").hidden = true;
    }
  }

  async function refreshRecords(row) {
    if (row.state === "STARTED") void refreshTasks(row);
    if (row.dlqMessageCount !== state.lastDlq) {
      state.lastDlq = row.dlqMessageCount;
      try {
        const { results } = await api("GET", `${processorPath(row)}/deadLetters?limit=20`);
        $("dlq").replaceChildren(
          ...(results.length === 0 ? [text("li", "none")] : results.reverse().map(deadLetterItem)),
        );
      } catch (error) {
        $("dlq").replaceChildren(text("li", error.message));
      }
    }
    if (row.outputMessageCount !== state.lastOutput) {
      state.lastOutput = row.outputMessageCount;
      await refreshSample(row);
    }
  }

  async function refreshSample(row) {
    try {
      const { messages } = await api("GET", `${processorPath(row)}/sample?limit=5&timeoutMs=0`);
      $("sample").replaceChildren(
        ...(messages.length === 0
          ? [text("li", "none yet")]
          : messages.reverse().map((doc) => {
              const li = document.createElement("li");
              li.append(text("pre", JSON.stringify(doc, null, 1)));
              return li;
            })),
      );
    } catch (error) {
      $("sample").replaceChildren(text("li", error.message));
    }
  }

  $("sample-refresh").addEventListener("click", () => {
    const row = state.rows.get(state.selected)?.row;
    if (row) refreshSample(row);
  });

  function deadLetterItem(record) {
    const li = document.createElement("li");
    const reason = record.errInfo?.reason ?? record.error ?? "dead-lettered";
    const when = record.dlqTime?.$date ?? record.dlqTime ?? "";
    li.append(
      text("div", reason, "reason"),
      text("div", [record.operatorName, when].filter(Boolean).join(" · ")),
    );
    if (record.doc !== undefined) li.append(text("pre", JSON.stringify(record.doc)));
    return li;
  }

  function text(tag, content, cls) {
    const el = document.createElement(tag);
    el.textContent = content;
    if (cls) el.className = cls;
    return el;
  }

  window.addEventListener("resize", () => {
    if (state.selected) buildPlots();
  });

  if (state.token) showDashboard();
  else $("token").focus();
})();
