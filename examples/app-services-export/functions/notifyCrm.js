// Tells the CRM that a customer's e-mail address changed.
exports = async function (changeEvent) {
  const token = context.values.get("crmToken");
  await context.http.post({
    url: "https://crm.example.com/hooks/customer-updated",
    headers: { Authorization: [`Bearer ${token}`] },
    body: { customerId: changeEvent.documentKey._id, changes: changeEvent.updateDescription.updatedFields },
    encodeBodyAsJSON: true,
  });
};
