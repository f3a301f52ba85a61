// The demo's shopping-cart events (shopping_cart_event_generator.py): customers 1–25 fill carts; a cart
// starts with "create_shopping_cart", 70 % of its later events add an item ("update_shopping_cart") and
// 30 % turn it into an order ("create_order" with a new order_id); carts left open at the end of a round
// of 100 events are turned into orders. Planned up front from the seed, so a test can replay the plan.
import { seededRandom } from "./random.ts";

export type CartStatus = "create_shopping_cart" | "update_shopping_cart" | "create_order";

/** A cart as the generator sends it (the Kafka value; `cart_data` in the capped collection), minus `timestamp`. */
export interface CartState {
  readonly _id: string;
  readonly customer_id: number;
  readonly items: readonly number[];
  readonly status: CartStatus;
  readonly order_id?: string;
}

/** One order the plan produces: what the order's history must end up describing. */
export interface PlannedOrder {
  readonly order_id: string;
  readonly cart_id: string;
  readonly customer_id: number;
  readonly items: readonly number[];
}

export interface CartPlan {
  readonly events: readonly CartState[];
  readonly orders: readonly PlannedOrder[];
}

export const CUSTOMERS = 25;
export const ROUND_SIZE = 100;

/** The events that produce exactly `orders` orders under `seed`. */
export function planCartEvents(seed: number, orders: number): CartPlan {
  const random = seededRandom(seed, "cart-events");
  const open = new Map<number, CartState>();
  const events: CartState[] = [];
  const planned: PlannedOrder[] = [];
  let cartsCreated = 0;

  const emit = (cart: CartState): void => {
    events.push(cart);
    if (cart.status === "create_order") {
      open.delete(cart.customer_id);
      planned.push({
        order_id: cart.order_id!,
        cart_id: cart._id,
        customer_id: cart.customer_id,
        items: cart.items,
      });
    } else {
      open.set(cart.customer_id, cart);
    }
  };
  const toOrder = (cart: CartState): CartState => ({
    ...cart,
    status: "create_order",
    order_id: random.uuid(),
  });

  while (planned.length < orders) {
    for (let i = 0; i < ROUND_SIZE && planned.length < orders; i++) {
      const customer = random.int(1, CUSTOMERS);
      let cart = open.get(customer);
      if (cart === undefined && cartsCreated < orders) {
        cartsCreated++;
        emit({
          _id: random.uuid(),
          customer_id: customer,
          items: [random.int(1, 100)],
          status: "create_shopping_cart",
        });
        continue;
      }
      // Every order has its cart already: keep working on the open ones.
      cart ??= open.values().next().value;
      if (cart === undefined) break;
      if (random.next() < 0.7) {
        emit({ ...cart, items: [...cart.items, random.int(1, 100)], status: "update_shopping_cart" });
      } else {
        emit(toOrder(cart));
      }
    }
    for (const cart of [...open.values()]) emit(toOrder(cart));
  }
  return { events, orders: planned };
}
