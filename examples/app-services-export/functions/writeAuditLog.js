// Keeps an audit trail of every change to an order.
exports = async function (changeEvent) {
  const audit = context.services.get("mongodb-atlas").db("audit").collection("order_changes");
  await audit.insertOne({
    operationType: changeEvent.operationType,
    orderId: changeEvent.documentKey._id,
    updatedFields: changeEvent.updateDescription ? changeEvent.updateDescription.updatedFields : null,
    at: new Date(),
  });
};
