// What a script sees when a command fails: MongoDB server errors with code and codeName.
function attempt(label, action) {
  try {
    action();
    print(label + " ok");
  } catch (error) {
    print(label + " " + error.codeName + " " + error.code);
  }
}
let pipeline = [{ $source: { documents: [{ a: 1 }] } }, { $emit: { connectionName: "__testLog" } }];
sp.createStreamProcessor("twice", pipeline);
attempt("DUPLICATE", () => sp.createStreamProcessor("twice", pipeline));
attempt("BAD_PIPELINE", () =>
  sp.createStreamProcessor("bad", [{ $source: { documents: [] } }, { $nope: 1 }]),
);
attempt("NOT_FOUND", () => sp.nobody.start());
attempt("STOP_NOT_STARTED", () => sp.twice.stop());
attempt("UNKNOWN_COMMAND", () => db.adminCommand({ frobnicate: 1 }));
print(
  "CONNECTIONS " +
    sp
      .listConnections()
      .map((c) => c.name)
      .sort()
      .join(","),
);
sp.twice.drop();
