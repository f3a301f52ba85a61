// Sends one row per order to the BI warehouse's ingest API.
exports = async function (changeEvent) {
  const doc = changeEvent.fullDocument;
  if (changeEvent.operationType === "delete") {
    await context.http.delete({
      url: `https://warehouse.example.com/api/tables/orders/${changeEvent.documentKey._id}`,
    });
    return;
  }
  const row = {
    order_id: doc._id.toString(),
    customer: doc.customer,
    total: doc.total,
    status: doc.status,
  };
  await context.http.post({
    url: "https://warehouse.example.com/api/tables/orders",
    body: row,
    encodeBodyAsJSON: true,
  });
};
