// Create, start, stats, stop, drop: the solar sample source into the test-log sink.
let s = {
  $source: {
    connectionName: "sample_stream_solar",
    timeField: { $dateFromString: { dateString: "$timestamp" } },
  },
};
let m = { $match: { "obs.watts": { $gte: 0 } } };
let e = { $emit: { connectionName: "__testLog" } };
sp.createStreamProcessor("solarDemo", [s, m, e]);
print("CREATED " + sp.listStreamProcessors({ name: "solarDemo" })[0].state);
sp.solarDemo.start();
let stats;
for (let i = 0; i < 300; i++) {
  stats = sp.solarDemo.stats();
  if (stats.stats.inputMessageCount > 0) break;
  sleep(100);
}
print(
  "STATS " +
    EJSON.stringify({
      ok: stats.ok,
      name: stats.stats.name,
      status: stats.stats.status,
      scaleFactor: stats.stats.scaleFactor,
      read: stats.stats.inputMessageCount > 0,
    }),
);
print("VERBOSE " + Array.isArray(sp.solarDemo.stats({ verbose: true }).stats.operatorStats));
sp.solarDemo.stop();
print("STOPPED " + sp.listStreamProcessors({ name: "solarDemo" })[0].state);
sp.solarDemo.drop();
print("LEFT " + sp.listStreamProcessors({ name: "solarDemo" }).length);
