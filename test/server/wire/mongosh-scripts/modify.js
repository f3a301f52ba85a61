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
sleep(500);
print("OUTPUT " + sp.renamed.stats().stats.outputMessageCount);
sp.renamed.drop();
