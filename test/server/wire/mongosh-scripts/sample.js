// sample() of a running processor: three documents, then the cursor ends.
let solar = { $source: { connectionName: "sample_stream_solar" } };
let addWatts = { $addFields: { kw: { $divide: ["$obs.watts", 1000] } } };
let sink = { $emit: { connectionName: "__testLog" } };
sp.createStreamProcessor("solarSample", [solar, addWatts, sink]);
sp.solarSample.start();
sp.solarSample.sample({ limit: 3 });
sp.solarSample.stop();
sp.solarSample.drop();
print("SAMPLED");
