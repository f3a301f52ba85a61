// sp.process() of a finite pipeline (the ASP quickstart "hello world": inline documents, $match $regex).
let s = {
  $source: {
    documents: [
      { _id: 1, ts: "2024-01-01T00:00:00Z", msg: "hi" },
      { _id: 2, ts: "2024-01-01T00:00:00Z", msg: "hello" },
      { _id: 3, ts: "2024-01-01T00:00:01Z", msg: "hello world" },
    ],
  },
};
let m = { $match: { msg: { $regex: "hello" } } };
let p = { $project: { _id: 1, msg: 1, shout: { $toUpper: "$msg" } } };
sp.process([s, m, p]);
print("PROCESSORS LEFT " + sp.listStreamProcessors().filter((p) => p.name.startsWith("process-")).length);
