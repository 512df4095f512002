#!/usr/bin/env python3
"""Write a realistic 30-revision MariaDB/MySQL workload in two forms.

    python3 bench/mysql/gen_workload.py OUT [--url mysql://root@127.0.0.1:3306/mysql_bench_1] [--force]

writes

  OUT/retort/retort.toml          database `bench`, the --url, script_location OUT/retort
  OUT/retort/versions/<id>_<slug>.sql
  OUT/mysql/all.sql               one script for the `mysql`/`mariadb` client: the same
                                  statements in the same order, the alembic_version
                                  statements retort runs, DELIMITER around routine bodies
  OUT/workload.json               ids, messages, statement counts, the head

It is bench/pg/gen_workload.py's workload translated to MariaDB (10.5 or later;
MySQL 8.0.19 or later reads it too): a linear chain of 30 revisions, the same
eleven tables with foreign keys, an ENUM column (created, later widened by
ALTER TABLE ... MODIFY), ALTER TABLE columns and constraints, indexes (a
descending one; a unique index on a stored generated column where PostgreSQL
has an expression index; a composite one where it has a partial index; one
built with ALGORITHM=INPLACE, LOCK=NONE where it builds one CONCURRENTLY),
backfills of a few thousand rows by INSERT ... WITH RECURSIVE ... SELECT
(a 100-row recursive CTE cross-joined with itself, since MariaDB stops a
recursive CTE at max_recursive_iterations = 1000 and MySQL at
cte_max_recursion_depth = 1000) and by UPDATE (one a multi-table UPDATE ...
JOIN), two stored routines with `;` in their bodies (a function and a procedure,
between DELIMITER lines) and the triggers that use them, table and column
comments, a view and its CREATE OR REPLACE. Every revision has a working
downgrade.

Differences from the PostgreSQL workload, all forced by the dialect: no
separate enum type; no NOT VALID/VALIDATE (the foreign key is checked when
added); no partial or expression index; one trigger per event (MariaDB has no
`INSERT OR UPDATE OR DELETE` trigger), so the audit revision makes six
triggers; column comments are set by ALTER TABLE ... MODIFY with the full
column definition; a foreign key added to an existing table leaves an index of
its name, which the downgrade drops; orders.account_id has an explicit index
(InnoDB silently drops the index it makes for a foreign key once another index
covers the column, and then refuses to drop that one: ix_orders_account_placed
could not be dropped by its downgrade). On MySQL/MariaDB DDL commits implicitly,
so there is no `Transactional: false` revision: retort runs every MySQL
revision statement by statement anyway.

The workload is fixed: the same OUT contents on every run. It expects a fresh,
empty database (the backfills rely on AUTO_INCREMENT starting at 1; their
downgrades delete the rows and set AUTO_INCREMENT back, so a revision can go
up, down and up again, which `retort test` checks).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

DEFAULT_URL = "mysql://root@127.0.0.1:3306/mysql_bench_1"
VERSION_TABLE = "alembic_version"
# The client-side delimiter around statements whose bodies hold `;`.
ROUTINE_DELIMITER = "//"


class Rev:
    def __init__(self, message: str, up: list[str], down: list[str]):
        self.message = message
        self.up = [dedent(s) for s in up]
        self.down = [dedent(s) for s in down]
        self.id = ""
        self.parent: str | None = None
        self.date = dt.datetime(2025, 1, 1)


def dedent(sql: str) -> str:
    lines = sql.strip("\n").splitlines()
    indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
    return "\n".join(l[indent:].rstrip() for l in lines).strip()


def series(count: int, column: str = "g") -> str:
    """`WITH RECURSIVE` numbering 1..count (at most 10000) as `s.<column>`: a
    recursive CTE of 0..99, cross-joined with itself, so no recursion goes past
    the servers' default limit of 1000."""
    assert 1 <= count <= 10000
    return (
        "WITH RECURSIVE d (n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 99),\n"
        f"     s ({column}) AS (SELECT 1 + a.n * 100 + b.n FROM d a CROSS JOIN d b WHERE a.n * 100 + b.n < {count})"
    )


# -- the workload ----------------------------------------------------------------------
VIEW_V1 = """
    CREATE VIEW account_order_totals AS
    SELECT a.id AS account_id,
           a.name,
           COUNT(o.id) AS order_count,
           COALESCE(SUM(o.total_cents), 0) AS total_cents
      FROM accounts a
      LEFT JOIN orders o ON o.account_id = a.id
     GROUP BY a.id, a.name
"""

VIEW_V2 = """
    CREATE OR REPLACE VIEW account_order_totals AS
    SELECT a.id AS account_id,
           a.name,
           COUNT(o.id) AS order_count,
           COALESCE(SUM(o.total_cents), 0) AS total_cents,
           a.plan_code,
           MAX(o.placed_at) AS last_order_at
      FROM accounts a
      LEFT JOIN orders o ON o.account_id = a.id
     GROUP BY a.id, a.name, a.plan_code
"""

STATUS_V1 = "ENUM('pending', 'paid', 'shipped', 'cancelled')"
STATUS_V2 = "ENUM('pending', 'paid', 'shipped', 'cancelled', 'refunded')"


def audit_trigger(table: str, event: str) -> str:
    row = "OLD" if event == "DELETE" else "NEW"
    fields = {
        "orders": "'account_id', {r}.account_id, 'status', {r}.status, 'total_cents', {r}.total_cents",
        "payments": "'order_id', {r}.order_id, 'amount_cents', {r}.amount_cents, 'method', {r}.method",
    }[table].format(r=row)
    return f"""
        CREATE TRIGGER trg_{table}_audit_{event.lower()}
            AFTER {event} ON {table}
            FOR EACH ROW CALL audit_row_change('{table}', {row}.id, '{event[0]}', JSON_OBJECT('id', {row}.id, {fields}))
    """


REVISIONS = [
    Rev("create users table", [
        """
        CREATE TABLE users (
            id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            email VARCHAR(255) NOT NULL,
            email_lower VARCHAR(255) GENERATED ALWAYS AS (LOWER(email)) STORED,
            full_name VARCHAR(255),
            created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
        )
        """,
        "CREATE UNIQUE INDEX ux_users_email_lower ON users (email_lower)",
    ], ["DROP TABLE users"]),

    Rev("create accounts table", [
        """
        CREATE TABLE accounts (
            id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            owner_id BIGINT NOT NULL,
            name VARCHAR(255) NOT NULL,
            plan VARCHAR(16) NOT NULL DEFAULT 'free',
            created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
            CONSTRAINT fk_accounts_owner_id FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE
        )
        """,
        "CREATE INDEX ix_accounts_owner_id ON accounts (owner_id)",
    ], ["DROP TABLE accounts"]),

    Rev("create products table", [
        """
        CREATE TABLE products (
            id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            sku VARCHAR(32) NOT NULL,
            name VARCHAR(255) NOT NULL,
            price_cents INT NOT NULL,
            active BOOLEAN NOT NULL DEFAULT TRUE,
            created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
            CONSTRAINT uq_products_sku UNIQUE (sku),
            CONSTRAINT ck_products_price_nonnegative CHECK (price_cents >= 0)
        )
        """,
    ], ["DROP TABLE products"]),

    Rev("create orders table with an order status enum", [
        f"""
        CREATE TABLE orders (
            id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            account_id BIGINT NOT NULL,
            status {STATUS_V1} NOT NULL DEFAULT 'pending',
            placed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
            INDEX ix_orders_account_id (account_id),
            CONSTRAINT fk_orders_account_id FOREIGN KEY (account_id) REFERENCES accounts (id)
        )
        """,
    ], ["DROP TABLE orders"]),

    Rev("create order_items table", [
        """
        CREATE TABLE order_items (
            order_id BIGINT NOT NULL,
            line_no INT NOT NULL,
            product_id BIGINT NOT NULL,
            quantity INT NOT NULL DEFAULT 1,
            unit_price_cents INT NOT NULL,
            PRIMARY KEY (order_id, line_no),
            CONSTRAINT fk_order_items_order_id FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
            CONSTRAINT fk_order_items_product_id FOREIGN KEY (product_id) REFERENCES products (id)
        )
        """,
    ], ["DROP TABLE order_items"]),

    Rev("create payments table", [
        """
        CREATE TABLE payments (
            id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            order_id BIGINT NOT NULL,
            amount_cents BIGINT NOT NULL,
            method VARCHAR(16) NOT NULL,
            paid_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
            CONSTRAINT fk_payments_order_id FOREIGN KEY (order_id) REFERENCES orders (id)
        )
        """,
        "CREATE INDEX ix_payments_order_id ON payments (order_id)",
    ], ["DROP TABLE payments"]),

    Rev("create audit_log table", [
        """
        CREATE TABLE audit_log (
            id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            table_name VARCHAR(64) NOT NULL,
            row_id BIGINT,
            action CHAR(1) NOT NULL,
            changed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
            payload JSON,
            CONSTRAINT ck_audit_log_action CHECK (action IN ('I', 'U', 'D'))
        )
        """,
        "CREATE INDEX ix_audit_log_table_row ON audit_log (table_name, row_id)",
    ], ["DROP TABLE audit_log"]),

    Rev("add email_verified and updated_at to users", [
        "ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE",
        "ALTER TABLE users ADD COLUMN updated_at DATETIME(6) NULL",
    ], [
        "ALTER TABLE users DROP COLUMN updated_at",
        "ALTER TABLE users DROP COLUMN email_verified",
    ]),

    Rev("index orders by account and date", [
        "CREATE INDEX ix_orders_account_placed ON orders (account_id, placed_at DESC)",
    ], ["DROP INDEX ix_orders_account_placed ON orders"]),

    Rev("create categories and link products", [
        """
        CREATE TABLE categories (
            id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            name VARCHAR(255) NOT NULL,
            parent_id INT,
            CONSTRAINT uq_categories_name UNIQUE (name),
            CONSTRAINT fk_categories_parent_id FOREIGN KEY (parent_id) REFERENCES categories (id)
        )
        """,
        "ALTER TABLE products ADD COLUMN category_id INT NULL",
        "CREATE INDEX ix_products_category_id ON products (category_id)",
        """
        ALTER TABLE products
            ADD CONSTRAINT fk_products_category_id FOREIGN KEY (category_id) REFERENCES categories (id)
        """,
    ], [
        "ALTER TABLE products DROP FOREIGN KEY fk_products_category_id",
        "ALTER TABLE products DROP COLUMN category_id",
        "DROP TABLE categories",
    ]),

    Rev("seed categories and products", [
        f"""
        INSERT INTO categories (name, parent_id)
        {series(20)}
        SELECT CONCAT('category ', g), CASE WHEN g > 5 THEN 1 + MOD(g, 5) END
          FROM s
         ORDER BY g
        """,
        f"""
        INSERT INTO products (sku, name, price_cents, category_id, active)
        {series(500)}
        SELECT CONCAT('SKU-', LPAD(g, 6, '0')),
               CONCAT('product ', g),
               100 + MOD(g * 37, 9900),
               1 + MOD(g, 20),
               MOD(g, 17) <> 0
          FROM s
         ORDER BY g
        """,
    ], [
        "DELETE FROM products",
        # InnoDB checks the self-reference row by row: children first.
        "DELETE FROM categories ORDER BY parent_id IS NULL, id",
        # The seeds number from 1 (products.category_id, order_items.product_id).
        "ALTER TABLE products AUTO_INCREMENT = 1",
        "ALTER TABLE categories AUTO_INCREMENT = 1",
    ]),

    Rev("backfill users and accounts", [
        f"""
        INSERT INTO users (email, full_name, created_at)
        {series(3000)}
        SELECT CONCAT('user', g, '@example.com'),
               CONCAT('User ', g),
               TIMESTAMP '2024-01-01 00:00:00' + INTERVAL g HOUR
          FROM s
         ORDER BY g
        """,
        """
        INSERT INTO accounts (owner_id, name, plan, created_at)
        SELECT id,
               CONCAT('account of ', full_name),
               CASE WHEN MOD(id, 10) = 0 THEN 'pro' ELSE 'free' END,
               created_at
          FROM users
         ORDER BY id
        """,
    ], [
        "DELETE FROM accounts",
        "DELETE FROM users",
        "ALTER TABLE accounts AUTO_INCREMENT = 1",
        "ALTER TABLE users AUTO_INCREMENT = 1",
    ]),

    Rev("backfill orders and order_items", [
        f"""
        INSERT INTO orders (account_id, status, placed_at)
        {series(5000)}
        SELECT 1 + MOD(g * 7, 3000),
               ELT(1 + MOD(g, 4), 'pending', 'paid', 'shipped', 'cancelled'),
               TIMESTAMP '2024-06-01 00:00:00' + INTERVAL g * 10 MINUTE
          FROM s
         ORDER BY g
        """,
        """
        INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price_cents)
        SELECT o.id, l.n, p.id, 1 + MOD(o.id + l.n, 5), p.price_cents
          FROM orders o
         CROSS JOIN (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3) AS l
          JOIN products p ON p.id = 1 + MOD(o.id * 13 + l.n * 101, 500)
        """,
    ], [
        "DELETE FROM order_items",
        "DELETE FROM orders",
        "ALTER TABLE orders AUTO_INCREMENT = 1",
    ]),

    Rev("add total_cents to orders and backfill it", [
        "ALTER TABLE orders ADD COLUMN total_cents BIGINT NULL",
        """
        UPDATE orders o
          JOIN (SELECT order_id, SUM(quantity * unit_price_cents) AS total
                  FROM order_items
                 GROUP BY order_id) AS t ON t.order_id = o.id
           SET o.total_cents = t.total
        """,
        "UPDATE orders SET total_cents = 0 WHERE total_cents IS NULL",
        "ALTER TABLE orders ALTER COLUMN total_cents SET DEFAULT 0",
        "ALTER TABLE orders MODIFY COLUMN total_cents BIGINT NOT NULL DEFAULT 0",
    ], ["ALTER TABLE orders DROP COLUMN total_cents"]),

    Rev("add check constraints to order_items and payments", [
        "ALTER TABLE order_items ADD CONSTRAINT ck_order_items_quantity_positive CHECK (quantity > 0)",
        """
        ALTER TABLE payments
            ADD CONSTRAINT ck_payments_method CHECK (method IN ('card', 'transfer', 'voucher'))
        """,
    ], [
        "ALTER TABLE payments DROP CONSTRAINT ck_payments_method",
        "ALTER TABLE order_items DROP CONSTRAINT ck_order_items_quantity_positive",
    ]),

    Rev("maintain users.updated_at with a trigger", [
        """
        CREATE FUNCTION next_updated_at(previous DATETIME(6)) RETURNS DATETIME(6)
            NOT DETERMINISTIC NO SQL
        BEGIN
            -- a statement separator inside the body must not split it;
            DECLARE now_ts DATETIME(6) DEFAULT NOW(6);
            IF previous IS NOT NULL AND previous >= now_ts THEN
                RETURN previous + INTERVAL 1 MICROSECOND;
            END IF;
            RETURN now_ts;
        END
        """,
        """
        CREATE TRIGGER trg_users_updated_at
            BEFORE UPDATE ON users
            FOR EACH ROW SET NEW.updated_at = next_updated_at(OLD.updated_at)
        """,
    ], [
        "DROP TRIGGER trg_users_updated_at",
        "DROP FUNCTION next_updated_at",
    ]),

    Rev("add updated_at to orders", [
        "ALTER TABLE orders ADD COLUMN updated_at DATETIME(6) NULL",
        """
        CREATE TRIGGER trg_orders_updated_at
            BEFORE UPDATE ON orders
            FOR EACH ROW SET NEW.updated_at = next_updated_at(OLD.updated_at)
        """,
    ], [
        "DROP TRIGGER trg_orders_updated_at",
        "ALTER TABLE orders DROP COLUMN updated_at",
    ]),

    Rev("backfill payments for paid and shipped orders", [
        """
        INSERT INTO payments (order_id, amount_cents, method, paid_at)
        SELECT id,
               total_cents,
               ELT(1 + MOD(id, 3), 'card', 'transfer', 'voucher'),
               placed_at + INTERVAL 5 MINUTE
          FROM orders
         WHERE status IN ('paid', 'shipped')
         ORDER BY id
        """,
    ], ["DELETE FROM payments", "ALTER TABLE payments AUTO_INCREMENT = 1"]),

    Rev("document tables and columns", [
        "ALTER TABLE users COMMENT = 'People who can sign in.'",
        "ALTER TABLE users MODIFY COLUMN email VARCHAR(255) NOT NULL COMMENT 'Login address, unique ignoring case.'",
        "ALTER TABLE orders COMMENT = 'One checkout; lines in order_items.'",
        """
        ALTER TABLE orders
            MODIFY COLUMN total_cents BIGINT NOT NULL DEFAULT 0 COMMENT 'Sum of the order''s lines, kept by the application.'
        """,
        "ALTER TABLE audit_log COMMENT = 'Row changes written by audit_row_change().'",
    ], [
        "ALTER TABLE audit_log COMMENT = ''",
        "ALTER TABLE orders MODIFY COLUMN total_cents BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE orders COMMENT = ''",
        "ALTER TABLE users MODIFY COLUMN email VARCHAR(255) NOT NULL",
        "ALTER TABLE users COMMENT = ''",
    ]),

    Rev("create account_order_totals view", [VIEW_V1], ["DROP VIEW account_order_totals"]),

    Rev("index order_items by unit price online", [
        """
        CREATE INDEX ix_order_items_unit_price ON order_items (unit_price_cents)
            ALGORITHM = INPLACE LOCK = NONE
        """,
    ], [
        # MariaDB's DROP INDEX takes no ALGORITHM/LOCK clause; ALTER TABLE does.
        "ALTER TABLE order_items DROP INDEX ix_order_items_unit_price, ALGORITHM = INPLACE, LOCK = NONE",
    ]),

    Rev("create addresses and link orders", [
        """
        CREATE TABLE addresses (
            id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            user_id BIGINT NOT NULL,
            kind VARCHAR(16) NOT NULL DEFAULT 'shipping',
            line1 VARCHAR(255) NOT NULL,
            city VARCHAR(255) NOT NULL,
            country CHAR(2) NOT NULL,
            created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
            CONSTRAINT fk_addresses_user_id FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
        )
        """,
        "CREATE INDEX ix_addresses_user_id ON addresses (user_id)",
        """
        ALTER TABLE orders
            ADD COLUMN shipping_address_id BIGINT NULL,
            ADD CONSTRAINT fk_orders_shipping_address_id FOREIGN KEY (shipping_address_id) REFERENCES addresses (id)
        """,
    ], [
        "ALTER TABLE orders DROP FOREIGN KEY fk_orders_shipping_address_id",
        "ALTER TABLE orders DROP COLUMN shipping_address_id",
        "DROP TABLE addresses",
    ]),

    Rev("create sessions table", [
        """
        CREATE TABLE sessions (
            token CHAR(36) NOT NULL DEFAULT (UUID()) PRIMARY KEY,
            user_id BIGINT NOT NULL,
            created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
            expires_at DATETIME(6) NOT NULL,
            CONSTRAINT fk_sessions_user_id FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
        )
        """,
        "CREATE INDEX ix_sessions_user_id ON sessions (user_id)",
        "CREATE INDEX ix_sessions_expires_at ON sessions (expires_at)",
    ], ["DROP TABLE sessions"]),

    Rev("refunded order status and index by status", [
        f"ALTER TABLE orders MODIFY COLUMN status {STATUS_V2} NOT NULL DEFAULT 'pending'",
        "CREATE INDEX ix_orders_status_placed ON orders (status, placed_at)",
    ], [
        "DROP INDEX ix_orders_status_placed ON orders",
        f"ALTER TABLE orders MODIFY COLUMN status {STATUS_V1} NOT NULL DEFAULT 'pending'",
    ]),

    Rev("audit changes to orders and payments", [
        """
        CREATE PROCEDURE audit_row_change(IN p_table VARCHAR(64), IN p_row_id BIGINT, IN p_action CHAR(1), IN p_payload JSON)
            MODIFIES SQL DATA
        BEGIN
            IF p_action = 'D' THEN
                INSERT INTO audit_log (table_name, row_id, action, payload)
                VALUES (p_table, p_row_id, 'D', NULL);
            ELSE
                INSERT INTO audit_log (table_name, row_id, action, payload)
                VALUES (p_table, p_row_id, p_action, p_payload);
            END IF;
        END
        """,
        audit_trigger("orders", "INSERT"),
        audit_trigger("orders", "UPDATE"),
        audit_trigger("orders", "DELETE"),
        audit_trigger("payments", "INSERT"),
        audit_trigger("payments", "UPDATE"),
        audit_trigger("payments", "DELETE"),
    ], [
        "DROP TRIGGER trg_payments_audit_delete",
        "DROP TRIGGER trg_payments_audit_update",
        "DROP TRIGGER trg_payments_audit_insert",
        "DROP TRIGGER trg_orders_audit_delete",
        "DROP TRIGGER trg_orders_audit_update",
        "DROP TRIGGER trg_orders_audit_insert",
        "DROP PROCEDURE audit_row_change",
    ]),

    Rev("plans table referenced by accounts", [
        """
        CREATE TABLE plans (
            code VARCHAR(16) NOT NULL PRIMARY KEY,
            name VARCHAR(255) NOT NULL,
            monthly_cents INT NOT NULL
        )
        """,
        "INSERT INTO plans (code, name, monthly_cents) VALUES ('free', 'Free', 0), ('pro', 'Pro', 2900)",
        "ALTER TABLE accounts RENAME COLUMN plan TO plan_code",
        """
        ALTER TABLE accounts
            ADD CONSTRAINT fk_accounts_plan_code FOREIGN KEY (plan_code) REFERENCES plans (code)
        """,
    ], [
        "ALTER TABLE accounts DROP FOREIGN KEY fk_accounts_plan_code",
        "DROP INDEX fk_accounts_plan_code ON accounts",
        "ALTER TABLE accounts RENAME COLUMN plan_code TO plan",
        "DROP TABLE plans",
    ]),

    Rev("soft delete for users", [
        "ALTER TABLE users ADD COLUMN deleted_at DATETIME(6) NULL",
        "UPDATE users SET deleted_at = created_at + INTERVAL 30 DAY WHERE MOD(id, 50) = 0",
        "CREATE INDEX ix_users_deleted_created ON users (deleted_at, created_at)",
    ], [
        "DROP INDEX ix_users_deleted_created ON users",
        "ALTER TABLE users DROP COLUMN deleted_at",
    ]),

    Rev("add line_total_cents to order_items and backfill it", [
        "ALTER TABLE order_items ADD COLUMN line_total_cents BIGINT NULL",
        "UPDATE order_items SET line_total_cents = quantity * unit_price_cents",
        "ALTER TABLE order_items MODIFY COLUMN line_total_cents BIGINT NOT NULL",
    ], ["ALTER TABLE order_items DROP COLUMN line_total_cents"]),

    Rev("add plan and last order to account_order_totals", [VIEW_V2], [
        "DROP VIEW account_order_totals",
        VIEW_V1,
    ]),

    Rev("one payment per order", [
        "ALTER TABLE payments ADD CONSTRAINT uq_payments_order_id UNIQUE (order_id)",
        "DROP INDEX ix_payments_order_id ON payments",
    ], [
        "CREATE INDEX ix_payments_order_id ON payments (order_id)",
        "ALTER TABLE payments DROP INDEX uq_payments_order_id",
    ]),
]


# -- checks --------------------------------------------------------------------------
def needs_delimiter(statement: str) -> bool:
    """A routine or trigger whose body holds `;`: the `mysql` client would cut it there.
    (A `;` inside a string literal elsewhere is left to the splitters.)"""
    return bool(re.match(r"CREATE (FUNCTION|PROCEDURE|TRIGGER)\b", statement)) and ";" in statement


def check(revs: list[Rev]) -> None:
    assert len(revs) == 30, len(revs)
    for r in revs:
        for s in r.up + r.down:
            # Keep away from backslashes (MySQL escapes) and from the routine
            # delimiter, and let the generator add every terminator.
            assert "\\" not in s and ROUTINE_DELIMITER not in s, (r.message, s)
            assert not s.endswith(";"), (r.message, s)
            if needs_delimiter(s):
                assert re.search(r"\bEND$", s), (r.message, s)


def assign_ids(revs: list[Rev]) -> None:
    parent = None
    for n, r in enumerate(revs, 1):
        r.id = hashlib.sha1(f"retort-mysql-bench-{n}".encode()).hexdigest()[:12]
        r.parent = parent
        r.date = dt.datetime(2025, 1, 6, 9, 0) + dt.timedelta(days=n, minutes=7 * n)
        parent = r.id


def slug(message: str, length: int = 40) -> str:
    words = re.sub(r"\W", " ", message).lower().split()
    out = "_".join(words)
    if len(out) > length:
        out = out[:length].rsplit("_", 1)[0]
    return out


def terminated(statement: str) -> str:
    """`statement;`, or, for a routine whose body holds `;`, the statement between
    DELIMITER lines, as both retort's MySQL splitter and the `mysql` client read it."""
    if needs_delimiter(statement):
        d = ROUTINE_DELIMITER
        return f"DELIMITER {d}\n{statement} {d}\nDELIMITER ;"
    return statement + ";"


def sql_body(statements: list[str]) -> str:
    return "\n\n".join(terminated(s) for s in statements)


# -- retort -----------------------------------------------------------------------------
def render_sql(r: Rev) -> str:
    lines = [
        f"-- {r.message}",
        "--",
        f"-- Revision ID: {r.id}",
        f"-- Revises: {r.parent or ''}".rstrip(),
        f"-- Create Date: {r.date:%Y-%m-%d %H:%M:%S}",
    ]
    lines += ["", "-- migrate:up", sql_body(r.up), "", "-- migrate:down", sql_body(r.down), ""]
    return "\n".join(lines)


# -- mysql client ---------------------------------------------------------------------
def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def render_client(revs: list[Rev]) -> str:
    """One script for `mysql`/`mariadb`: the version table as retort creates it,
    then per revision its statements and the version row, between START
    TRANSACTION and COMMIT (DDL commits implicitly, so this only groups the data
    changes of a revision with its version row; the script's statements are the
    revision's, the version-row statements are retort's own text).

    No comment lines: the benchmark runs the client with --comments (so that the
    comment inside a routine body reaches the server, as it does from retort),
    and with it the client sends every comment line as a statement of its own."""
    t = f"`{VERSION_TABLE}`"
    out = [
        f"CREATE TABLE {t} (\n    version_num VARCHAR(32) NOT NULL,\n"
        f"    CONSTRAINT `{VERSION_TABLE}_pkc` PRIMARY KEY (version_num)\n);",
        "",
    ]
    for r in revs:
        out.append("START TRANSACTION;")
        out.append(sql_body(r.up))
        if r.parent is None:
            out.append(f"INSERT INTO {t} (version_num) VALUES ({quote(r.id)});")
        else:
            out.append(f"UPDATE {t} SET version_num = {quote(r.id)} WHERE version_num = {quote(r.parent)};")
        out.append("COMMIT;")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--url", default=DEFAULT_URL, help=f"mysql:// URL for retort.toml (default {DEFAULT_URL})")
    ap.add_argument("--force", action="store_true", help="replace existing retort/ and mysql/ under OUT")
    args = ap.parse_args(argv)

    if not re.match(r"^(mysql|mariadb)://", args.url):
        raise SystemExit(f"--url must start with mysql:// or mariadb://, not {args.url!r}")
    out: Path = args.out.resolve()
    parts = [out / "retort", out / "mysql"]
    existing = [p for p in parts if p.exists()]
    if existing and not args.force:
        raise SystemExit(f"{existing[0]} exists; pass --force to replace it")
    for p in existing:
        shutil.rmtree(p)

    revs = REVISIONS
    check(revs)
    assign_ids(revs)

    (out / "retort" / "versions").mkdir(parents=True)
    (out / "mysql").mkdir(parents=True)

    for r in revs:
        (out / "retort" / "versions" / f"{r.id}_{slug(r.message)}.sql").write_text(render_sql(r))
    (out / "retort" / "retort.toml").write_text(
        "# generated by bench/mysql/gen_workload.py\n"
        "[databases.bench]\n"
        f"url = {json.dumps(args.url)}\n"
        f"script_location = {json.dumps(str(out / 'retort'))}\n"
        f'version_table = "{VERSION_TABLE}"\n'
    )
    (out / "mysql" / "all.sql").write_text(render_client(revs))

    summary = {
        "revisions": len(revs),
        "head": revs[-1].id,
        "statements_up": sum(len(r.up) for r in revs),
        "statements_down": sum(len(r.down) for r in revs),
        "routines": sum(needs_delimiter(s) for r in revs for s in r.up),
        "url": args.url,
        "ids": [r.id for r in revs],
        "list": [{"id": r.id, "parent": r.parent, "message": r.message, "up": len(r.up), "down": len(r.down)}
                 for r in revs],
    }
    (out / "workload.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: summary[k] for k in ("revisions", "head", "statements_up", "statements_down")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
