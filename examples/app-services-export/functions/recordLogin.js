// Records each login for the security team.
exports = async function (authEvent) {
  const logins = context.services.get("mongodb-atlas").db("security").collection("logins");
  await logins.insertOne({ userId: authEvent.user.id, provider: authEvent.providers, at: authEvent.time });
};
