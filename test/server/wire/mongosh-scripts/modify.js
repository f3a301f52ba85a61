// modify(): a new pipeline without resuming, then a rename.
sp.createStreamProcessor("modifyMe", [
  { $source: { documents: [{ a: 1 }] } },
  { $emit: { connectionName: "__testLog" } },
]);
sp.modifyMe.modify(
  [
    { $source: { documents: [{ a: 2 }, { a: 3 }] } },
    { $addFields: { b: { $multiply: ["$a", 10] } } },
    { $emit: { connectionName: "__testLog" } },
  ],
  { resumeFromCheckpoint: false },
);
print("STAGES " + sp.listStreamProcessors({ name: "modifyMe" })[0].pipeline.length);
sp.modifyMe.modify({ name: "renamed" });
let mine = sp.listStreamProcessors({ name: { $in: ["modifyMe", "renamed"] } });
print("NAMES " + mine.map((p) => p.name).join(","));
sp.renamed.start();
// The two documents go through; the processor then stops by itself (its source is finite).
let stats = sp.renamed.stats().stats;
for (let i = 0; i < 200 && stats.outputMessageCount < 2; i++) {
  sleep(100);
  stats = sp.renamed.stats().stats;
}
print("OUTPUT " + stats.outputMessageCount);
sp.renamed.drop();
