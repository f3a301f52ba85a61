import { MongoClient, Timestamp } from "mongodb";
const c = new MongoClient(process.argv[2]); await c.connect();
const ev: any[] = [];
for (const db of ["shoppingcartdb", "orderdb", "shipmentdb", "orderhistorydb"]) {
  const cs = c.db(db).watch([], { startAtOperationTime: new Timestamp({ t: 1, i: 0 }) });
  for (let i = 0; i < 5000; i++) { const e = await cs.tryNext() as any; if (!e) break; ev.push(e); }
  await cs.close();
}
const t0 = Math.min(...ev.map(e => new Date(e.wallTime).getTime()));
const at = (e: any) => new Date(e.wallTime).getTime() - t0;
const orders = ev.filter(e => e.ns.coll === "orders" && e.operationType === "insert");
for (const o of orders) {
  const id = o.documentKey._id;
  const cartReplace = ev.find(e => e.ns.coll === "shoppingcart" && e.operationType === "replace" && e.fullDocument?.order_id === id);
  const hist = ev.filter(e => e.ns.coll === "order_history" && e.documentKey._id === id).map(e => `${e.operationType}@${at(e)}`);
  const val = ev.find(e => (e.ns.coll === "fulfilled_orders" || e.ns.coll === "invalid_orders") && e.documentKey._id === id);
  console.log(`cart ${at(cartReplace)} order ${at(o)} validated ${val ? at(val) : "-"} history ${hist.join(" ")}`);
}
const h = await c.db("orderhistorydb").collection("order_history").find().toArray();
console.log(h.filter(d => !Object.keys(d).some(k => /invalid|shipped_order|delayed/.test(k))).length, "histories without terminal");
console.log(JSON.stringify(h.slice(0, 3)));
await c.close();
