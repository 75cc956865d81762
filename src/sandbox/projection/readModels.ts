/**
 * The sandbox projection service's read models, one per major version, so a
 * new release really needs a new projection: 1.x keeps order totals per
 * customer; 2.x also keeps items per customer and sales per product. Each applies a batch of events in one transaction
 * together with the last global index it applied, so a batch replayed after
 * a crash is skipped, not counted twice.
 */
import type { ClientBase } from 'pg';

export interface OrderPlaced {
  customer: string;
  product: string;
  qty: number;
  price: number;
}

export interface StoredEvent {
  globalIndex: number;
  payload: unknown;
}

export interface ReadModel {
  /** The model's tables, created if absent. */
  create(db: ClientBase): Promise<void>;
  /** Applies events after the recorded position; returns the new position. */
  apply(db: ClientBase, events: StoredEvent[]): Promise<number>;
  position(db: ClientBase): Promise<number>;
  /** What a query of one customer answers. */
  customer(db: ClientBase, id: string): Promise<Record<string, unknown> | undefined>;
  drop(db: ClientBase): Promise<void>;
}

const META = `CREATE TABLE IF NOT EXISTS projection_position (id INT PRIMARY KEY DEFAULT 1, global_index BIGINT NOT NULL)`;

async function position(db: ClientBase): Promise<number> {
  const { rows } = await db.query<{ global_index: string }>('SELECT global_index FROM projection_position WHERE id = 1');
  return rows.length ? Number(rows[0].global_index) : -1;
}

/** Sums per key over a batch, so a batch costs one upsert statement however many events it has. */
function sums<K extends string>(events: OrderPlaced[], key: (e: OrderPlaced) => string, fields: Record<K, (e: OrderPlaced) => number>) {
  const out = new Map<string, Record<K, number>>();
  for (const e of events) {
    const k = key(e);
    const acc = out.get(k) ?? (Object.fromEntries(Object.keys(fields).map((f) => [f, 0])) as Record<K, number>);
    for (const f of Object.keys(fields) as K[]) acc[f] += fields[f](e);
    out.set(k, acc);
  }
  return out;
}

async function inBatch(db: ClientBase, events: StoredEvent[], body: (orders: OrderPlaced[]) => Promise<void>): Promise<number> {
  await db.query('BEGIN');
  try {
    const { rows } = await db.query<{ global_index: string }>('SELECT global_index FROM projection_position WHERE id = 1 FOR UPDATE');
    const from = rows.length ? Number(rows[0].global_index) : -1;
    const fresh = events.filter((e) => e.globalIndex > from);
    if (!fresh.length) {
      await db.query('COMMIT');
      return from;
    }
    await body(fresh.map((e) => e.payload as OrderPlaced));
    const to = fresh[fresh.length - 1].globalIndex;
    await db.query('INSERT INTO projection_position (id, global_index) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET global_index = $1', [to]);
    await db.query('COMMIT');
    return to;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function upsertCustomers(db: ClientBase, orders: OrderPlaced[]): Promise<void> {
  const by = sums(orders, (e) => e.customer, { orders: () => 1, amount: (e) => e.qty * e.price });
  await db.query(
    `INSERT INTO customer_totals (customer, orders, amount) SELECT * FROM unnest($1::text[], $2::bigint[], $3::numeric[])
     ON CONFLICT (customer) DO UPDATE SET orders = customer_totals.orders + EXCLUDED.orders, amount = customer_totals.amount + EXCLUDED.amount`,
    [[...by.keys()], [...by.values()].map((v) => v.orders), [...by.values()].map((v) => v.amount)],
  );
}

export const V1: ReadModel = {
  async create(db) {
    await db.query(META);
    await db.query('CREATE TABLE IF NOT EXISTS customer_totals (customer TEXT PRIMARY KEY, orders BIGINT NOT NULL, amount NUMERIC NOT NULL)');
  },
  apply: (db, events) => inBatch(db, events, (orders) => upsertCustomers(db, orders)),
  position,
  async customer(db, id) {
    const { rows } = await db.query('SELECT customer, orders::int, amount::float FROM customer_totals WHERE customer = $1', [id]);
    return rows[0] as Record<string, unknown> | undefined;
  },
  async drop(db) {
    await db.query('DROP TABLE IF EXISTS customer_totals, projection_position');
  },
};

export const V2: ReadModel = {
  async create(db) {
    await V1.create(db);
    await db.query('ALTER TABLE customer_totals ADD COLUMN IF NOT EXISTS items BIGINT NOT NULL DEFAULT 0');
    await db.query('CREATE TABLE IF NOT EXISTS product_sales (product TEXT PRIMARY KEY, qty BIGINT NOT NULL, revenue NUMERIC NOT NULL)');
  },
  apply: (db, events) =>
    inBatch(db, events, async (orders) => {
      await upsertCustomers(db, orders);
      const items = sums(orders, (e) => e.customer, { items: (e) => e.qty });
      await db.query('UPDATE customer_totals c SET items = c.items + u.items FROM unnest($1::text[], $2::bigint[]) AS u(customer, items) WHERE c.customer = u.customer', [
        [...items.keys()],
        [...items.values()].map((v) => v.items),
      ]);
      const products = sums(orders, (e) => e.product, { qty: (e) => e.qty, revenue: (e) => e.qty * e.price });
      await db.query(
        `INSERT INTO product_sales (product, qty, revenue) SELECT * FROM unnest($1::text[], $2::bigint[], $3::numeric[])
         ON CONFLICT (product) DO UPDATE SET qty = product_sales.qty + EXCLUDED.qty, revenue = product_sales.revenue + EXCLUDED.revenue`,
        [[...products.keys()], [...products.values()].map((v) => v.qty), [...products.values()].map((v) => v.revenue)],
      );
    }),
  position,
  async customer(db, id) {
    const { rows } = await db.query('SELECT customer, orders::int, items::int, amount::float FROM customer_totals WHERE customer = $1', [id]);
    return rows[0] as Record<string, unknown> | undefined;
  },
  async drop(db) {
    await db.query('DROP TABLE IF EXISTS customer_totals, product_sales, projection_position');
  },
};

/** 1.x builds V1, 2.x and later V2. */
export function readModelFor(version: string): ReadModel {
  return Number(version.split('.')[0]) >= 2 ? V2 : V1;
}
