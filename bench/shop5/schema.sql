-- The fixed shop5 workload (issue 7): five tables of a small shop on PostgreSQL.
-- Foreign keys are plain (NO ACTION): an address cannot be deleted while a customer or an order
-- still points at it, so an erasure tool has to get the order of its statements right.
CREATE TABLE address (
    id        bigint PRIMARY KEY,
    line1     text,
    city      text,
    postcode  text
);

CREATE TABLE customer (
    id          bigint PRIMARY KEY,
    email       text NOT NULL,
    name        text NOT NULL,
    phone       text NOT NULL,
    address_id  bigint REFERENCES address (id)
);

CREATE TABLE orders (
    id                   bigint PRIMARY KEY,
    customer_id          bigint NOT NULL REFERENCES customer (id),
    shipping_address_id  bigint REFERENCES address (id),
    placed_at            timestamptz NOT NULL,
    completed_at         timestamptz
);

CREATE TABLE order_item (
    id        bigint PRIMARY KEY,
    order_id  bigint NOT NULL REFERENCES orders (id),
    sku       text NOT NULL,
    qty       integer NOT NULL,
    price     numeric(10, 2) NOT NULL
);

CREATE TABLE login (
    id           bigint PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES customer (id),
    ip           text NOT NULL,
    at           timestamptz NOT NULL
);

-- Every column a look-up uses is indexed (docs/datamap.md): e-mails case-insensitively.
CREATE UNIQUE INDEX customer_email_lower ON customer (lower(email));
CREATE INDEX customer_phone ON customer (phone);
CREATE INDEX customer_address_id ON customer (address_id);
CREATE INDEX orders_customer_id ON orders (customer_id);
CREATE INDEX orders_shipping_address_id ON orders (shipping_address_id);
CREATE INDEX order_item_order_id ON order_item (order_id);
CREATE INDEX login_customer_id ON login (customer_id);
