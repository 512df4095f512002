#!/usr/bin/env python3
"""Write a realistic 30-revision PostgreSQL workload in three forms.

    python3 bench/pg/gen_workload.py OUT [--url postgres://postgres@127.0.0.1:5432/retort_bench]
                                         [--sqlalchemy-url URL] [--force]

writes

  OUT/retort/retort.toml          database `bench`, the --url, script_location OUT/retort
  OUT/retort/versions/<id>_<slug>.sql
  OUT/psql/all.sql                one psql script: BEGIN/COMMIT around each transactional
                                  revision, the non-transactional one in autocommit, and
                                  the alembic_version statements retort and Alembic run
  OUT/alembic/alembic.ini         sqlalchemy.url = --sqlalchemy-url (default: --url with
                                  the scheme postgresql+psycopg2)
  OUT/alembic/env.py              transaction_per_migration=True, version_table alembic_version
  OUT/alembic/script.py.mako
  OUT/alembic/versions/<id>_<slug>.py
  OUT/workload.json               ids, messages, statement counts, the head

The three forms hold the same statements, byte for byte, in the same order and
with the same revision ids: a linear chain of 30 (tables with foreign keys, an
enum, ALTER TABLE columns and constraints, indexes, backfills of a few thousand
rows by INSERT ... SELECT generate_series and by UPDATE, two PL/pgSQL functions
with `$$` bodies and their triggers, comments, a view, and one
CREATE INDEX CONCURRENTLY in a revision of its own that runs outside a
transaction). Every revision has a working downgrade.

The workload is fixed: the same OUT contents on every run. It expects a fresh,
empty database (the backfills rely on sequences starting at 1).
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

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/retort_bench"
VERSION_TABLE = "alembic_version"


class Rev:
    def __init__(self, message: str, up: list[str], down: list[str], transactional: bool = True):
        self.message = message
        self.up = [dedent(s) for s in up]
        self.down = [dedent(s) for s in down]
        self.transactional = transactional
        self.id = ""
        self.parent: str | None = None
        self.date = dt.datetime(2025, 1, 1)


def dedent(sql: str) -> str:
    lines = sql.strip("\n").splitlines()
    indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
    return "\n".join(l[indent:].rstrip() for l in lines).strip()


# -- the workload ----------------------------------------------------------------------
VIEW_V1 = """
    CREATE VIEW account_order_totals AS
    SELECT a.id AS account_id,
           a.name,
           count(o.id) AS order_count,
           coalesce(sum(o.total_cents), 0) AS total_cents
      FROM accounts a
      LEFT JOIN orders o ON o.account_id = a.id
     GROUP BY a.id, a.name
"""

VIEW_V2 = """
    CREATE OR REPLACE VIEW account_order_totals AS
    SELECT a.id AS account_id,
           a.name,
           count(o.id) AS order_count,
           coalesce(sum(o.total_cents), 0) AS total_cents,
           a.plan_code,
           max(o.placed_at) AS last_order_at
      FROM accounts a
      LEFT JOIN orders o ON o.account_id = a.id
     GROUP BY a.id, a.name, a.plan_code
"""

REVISIONS = [
    Rev("create users table", [
        """
        CREATE TABLE users (
            id bigserial PRIMARY KEY,
            email text NOT NULL,
            full_name text,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE UNIQUE INDEX ux_users_email_lower ON users (lower(email))",
    ], ["DROP TABLE users"]),

    Rev("create accounts table", [
        """
        CREATE TABLE accounts (
            id bigserial PRIMARY KEY,
            owner_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            name text NOT NULL,
            plan text NOT NULL DEFAULT 'free',
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX ix_accounts_owner_id ON accounts (owner_id)",
    ], ["DROP TABLE accounts"]),

    Rev("create products table", [
        """
        CREATE TABLE products (
            id bigserial PRIMARY KEY,
            sku varchar(32) NOT NULL,
            name text NOT NULL,
            price_cents integer NOT NULL,
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT uq_products_sku UNIQUE (sku),
            CONSTRAINT ck_products_price_nonnegative CHECK (price_cents >= 0)
        )
        """,
    ], ["DROP TABLE products"]),

    Rev("create orders table and order_status type", [
        "CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled')",
        """
        CREATE TABLE orders (
            id bigserial PRIMARY KEY,
            account_id bigint NOT NULL REFERENCES accounts (id),
            status order_status NOT NULL DEFAULT 'pending',
            placed_at timestamptz NOT NULL DEFAULT now()
        )
        """,
    ], ["DROP TABLE orders", "DROP TYPE order_status"]),

    Rev("create order_items table", [
        """
        CREATE TABLE order_items (
            order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
            line_no integer NOT NULL,
            product_id bigint NOT NULL REFERENCES products (id),
            quantity integer NOT NULL DEFAULT 1,
            unit_price_cents integer NOT NULL,
            PRIMARY KEY (order_id, line_no)
        )
        """,
    ], ["DROP TABLE order_items"]),

    Rev("create payments table", [
        """
        CREATE TABLE payments (
            id bigserial PRIMARY KEY,
            order_id bigint NOT NULL REFERENCES orders (id),
            amount_cents bigint NOT NULL,
            method varchar(16) NOT NULL,
            paid_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX ix_payments_order_id ON payments (order_id)",
    ], ["DROP TABLE payments"]),

    Rev("create audit_log table", [
        """
        CREATE TABLE audit_log (
            id bigserial PRIMARY KEY,
            table_name text NOT NULL,
            row_id bigint,
            action char(1) NOT NULL,
            changed_at timestamptz NOT NULL DEFAULT now(),
            payload jsonb,
            CONSTRAINT ck_audit_log_action CHECK (action IN ('I', 'U', 'D'))
        )
        """,
        "CREATE INDEX ix_audit_log_table_row ON audit_log (table_name, row_id)",
    ], ["DROP TABLE audit_log"]),

    Rev("add email_verified and updated_at to users", [
        "ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false",
        "ALTER TABLE users ADD COLUMN updated_at timestamptz",
    ], [
        "ALTER TABLE users DROP COLUMN updated_at",
        "ALTER TABLE users DROP COLUMN email_verified",
    ]),

    Rev("index orders by account and date", [
        "CREATE INDEX ix_orders_account_placed ON orders (account_id, placed_at DESC)",
    ], ["DROP INDEX ix_orders_account_placed"]),

    Rev("create categories and link products", [
        """
        CREATE TABLE categories (
            id serial PRIMARY KEY,
            name text NOT NULL,
            parent_id integer REFERENCES categories (id),
            CONSTRAINT uq_categories_name UNIQUE (name)
        )
        """,
        "ALTER TABLE products ADD COLUMN category_id integer",
        """
        ALTER TABLE products
            ADD CONSTRAINT fk_products_category_id FOREIGN KEY (category_id) REFERENCES categories (id)
        """,
        "CREATE INDEX ix_products_category_id ON products (category_id)",
    ], [
        "ALTER TABLE products DROP COLUMN category_id",
        "DROP TABLE categories",
    ]),

    Rev("seed categories and products", [
        """
        INSERT INTO categories (name, parent_id)
        SELECT 'category ' || g, CASE WHEN g > 5 THEN 1 + mod(g, 5) END
          FROM generate_series(1, 20) AS g
        """,
        """
        INSERT INTO products (sku, name, price_cents, category_id, active)
        SELECT 'SKU-' || lpad(g::text, 6, '0'),
               'product ' || g,
               100 + mod(g * 37, 9900),
               1 + mod(g, 20),
               mod(g, 17) <> 0
          FROM generate_series(1, 500) AS g
        """,
    ], [
        "DELETE FROM products",
        "DELETE FROM categories",
    ]),

    Rev("backfill users and accounts", [
        """
        INSERT INTO users (email, full_name, created_at)
        SELECT 'user' || g || '@example.com',
               'User ' || g,
               timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour'
          FROM generate_series(1, 3000) AS g
        """,
        """
        INSERT INTO accounts (owner_id, name, plan, created_at)
        SELECT id,
               'account of ' || full_name,
               CASE WHEN mod(id, 10) = 0 THEN 'pro' ELSE 'free' END,
               created_at
          FROM users
         ORDER BY id
        """,
    ], [
        "DELETE FROM accounts",
        "DELETE FROM users",
    ]),

    Rev("backfill orders and order_items", [
        """
        INSERT INTO orders (account_id, status, placed_at)
        SELECT 1 + mod(g * 7, 3000),
               (ARRAY['pending', 'paid', 'shipped', 'cancelled']::order_status[])[1 + mod(g, 4)],
               timestamptz '2024-06-01 00:00:00+00' + g * interval '10 minutes'
          FROM generate_series(1, 5000) AS g
        """,
        """
        INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price_cents)
        SELECT o.id, l, p.id, 1 + mod(o.id + l, 5), p.price_cents
          FROM orders o
         CROSS JOIN generate_series(1, 3) AS l
          JOIN products p ON p.id = 1 + mod(o.id * 13 + l * 101, 500)
        """,
    ], [
        "DELETE FROM order_items",
        "DELETE FROM orders",
    ]),

    Rev("add total_cents to orders and backfill it", [
        "ALTER TABLE orders ADD COLUMN total_cents bigint",
        """
        UPDATE orders o
           SET total_cents = t.total
          FROM (SELECT order_id, sum(quantity * unit_price_cents) AS total
                  FROM order_items
                 GROUP BY order_id) AS t
         WHERE t.order_id = o.id
        """,
        "UPDATE orders SET total_cents = 0 WHERE total_cents IS NULL",
        "ALTER TABLE orders ALTER COLUMN total_cents SET DEFAULT 0",
        "ALTER TABLE orders ALTER COLUMN total_cents SET NOT NULL",
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
        CREATE FUNCTION set_updated_at() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            -- a statement separator inside the body must not split it;
            NEW.updated_at := now();
            RETURN NEW;
        END;
        $$
        """,
        """
        CREATE TRIGGER trg_users_updated_at
            BEFORE UPDATE ON users
            FOR EACH ROW EXECUTE FUNCTION set_updated_at()
        """,
    ], [
        "DROP TRIGGER trg_users_updated_at ON users",
        "DROP FUNCTION set_updated_at()",
    ]),

    Rev("add updated_at to orders", [
        "ALTER TABLE orders ADD COLUMN updated_at timestamptz",
        """
        CREATE TRIGGER trg_orders_updated_at
            BEFORE UPDATE ON orders
            FOR EACH ROW EXECUTE FUNCTION set_updated_at()
        """,
    ], [
        "DROP TRIGGER trg_orders_updated_at ON orders",
        "ALTER TABLE orders DROP COLUMN updated_at",
    ]),

    Rev("backfill payments for paid and shipped orders", [
        """
        INSERT INTO payments (order_id, amount_cents, method, paid_at)
        SELECT id,
               total_cents,
               (ARRAY['card', 'transfer', 'voucher'])[1 + mod(id, 3)],
               placed_at + interval '5 minutes'
          FROM orders
         WHERE status IN ('paid', 'shipped')
         ORDER BY id
        """,
    ], ["DELETE FROM payments"]),

    Rev("document tables and columns", [
        "COMMENT ON TABLE users IS 'People who can sign in.'",
        "COMMENT ON COLUMN users.email IS 'Login address, unique ignoring case.'",
        "COMMENT ON TABLE orders IS 'One checkout; lines in order_items.'",
        "COMMENT ON COLUMN orders.total_cents IS 'Sum of the order''s lines, kept by the application.'",
        "COMMENT ON TABLE audit_log IS 'Row changes written by audit_row_change().'",
    ], [
        "COMMENT ON TABLE audit_log IS NULL",
        "COMMENT ON COLUMN orders.total_cents IS NULL",
        "COMMENT ON TABLE orders IS NULL",
        "COMMENT ON COLUMN users.email IS NULL",
        "COMMENT ON TABLE users IS NULL",
    ]),

    Rev("create account_order_totals view", [VIEW_V1], ["DROP VIEW account_order_totals"]),

    Rev("index order_items by product concurrently", [
        "CREATE INDEX CONCURRENTLY ix_order_items_product_id ON order_items (product_id)",
    ], [
        "DROP INDEX CONCURRENTLY IF EXISTS ix_order_items_product_id",
    ], transactional=False),

    Rev("create addresses and link orders", [
        """
        CREATE TABLE addresses (
            id bigserial PRIMARY KEY,
            user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            kind varchar(16) NOT NULL DEFAULT 'shipping',
            line1 text NOT NULL,
            city text NOT NULL,
            country char(2) NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX ix_addresses_user_id ON addresses (user_id)",
        "ALTER TABLE orders ADD COLUMN shipping_address_id bigint REFERENCES addresses (id)",
    ], [
        "ALTER TABLE orders DROP COLUMN shipping_address_id",
        "DROP TABLE addresses",
    ]),

    Rev("create sessions table", [
        """
        CREATE TABLE sessions (
            token uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX ix_sessions_user_id ON sessions (user_id)",
        "CREATE INDEX ix_sessions_expires_at ON sessions (expires_at)",
    ], ["DROP TABLE sessions"]),

    Rev("partial index on pending orders", [
        "CREATE INDEX ix_orders_pending_placed ON orders (placed_at) WHERE status = 'pending'",
    ], ["DROP INDEX ix_orders_pending_placed"]),

    Rev("audit changes to orders and payments", [
        """
        CREATE FUNCTION audit_row_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                INSERT INTO audit_log (table_name, row_id, action, payload)
                VALUES (TG_TABLE_NAME, OLD.id, 'D', to_jsonb(OLD));
                RETURN OLD;
            END IF;
            INSERT INTO audit_log (table_name, row_id, action, payload)
            VALUES (TG_TABLE_NAME, NEW.id, left(TG_OP, 1), to_jsonb(NEW));
            RETURN NEW;
        END;
        $$
        """,
        """
        CREATE TRIGGER trg_orders_audit
            AFTER INSERT OR UPDATE OR DELETE ON orders
            FOR EACH ROW EXECUTE FUNCTION audit_row_change()
        """,
        """
        CREATE TRIGGER trg_payments_audit
            AFTER INSERT OR UPDATE OR DELETE ON payments
            FOR EACH ROW EXECUTE FUNCTION audit_row_change()
        """,
    ], [
        "DROP TRIGGER trg_payments_audit ON payments",
        "DROP TRIGGER trg_orders_audit ON orders",
        "DROP FUNCTION audit_row_change()",
    ]),

    Rev("plans table referenced by accounts", [
        """
        CREATE TABLE plans (
            code text PRIMARY KEY,
            name text NOT NULL,
            monthly_cents integer NOT NULL
        )
        """,
        "INSERT INTO plans (code, name, monthly_cents) VALUES ('free', 'Free', 0), ('pro', 'Pro', 2900)",
        "ALTER TABLE accounts RENAME COLUMN plan TO plan_code",
        """
        ALTER TABLE accounts
            ADD CONSTRAINT fk_accounts_plan_code FOREIGN KEY (plan_code) REFERENCES plans (code) NOT VALID
        """,
        "ALTER TABLE accounts VALIDATE CONSTRAINT fk_accounts_plan_code",
    ], [
        "ALTER TABLE accounts DROP CONSTRAINT fk_accounts_plan_code",
        "ALTER TABLE accounts RENAME COLUMN plan_code TO plan",
        "DROP TABLE plans",
    ]),

    Rev("soft delete for users", [
        "ALTER TABLE users ADD COLUMN deleted_at timestamptz",
        "UPDATE users SET deleted_at = created_at + interval '30 days' WHERE mod(id, 50) = 0",
        "CREATE INDEX ix_users_active_created ON users (created_at) WHERE deleted_at IS NULL",
    ], [
        "DROP INDEX ix_users_active_created",
        "ALTER TABLE users DROP COLUMN deleted_at",
    ]),

    Rev("add line_total_cents to order_items and backfill it", [
        "ALTER TABLE order_items ADD COLUMN line_total_cents bigint",
        "UPDATE order_items SET line_total_cents = quantity * unit_price_cents",
        "ALTER TABLE order_items ALTER COLUMN line_total_cents SET NOT NULL",
    ], ["ALTER TABLE order_items DROP COLUMN line_total_cents"]),

    Rev("add plan and last order to account_order_totals", [VIEW_V2], [
        "DROP VIEW account_order_totals",
        VIEW_V1,
    ]),

    Rev("one payment per order", [
        "ALTER TABLE payments ADD CONSTRAINT uq_payments_order_id UNIQUE (order_id)",
        "DROP INDEX ix_payments_order_id",
    ], [
        "CREATE INDEX ix_payments_order_id ON payments (order_id)",
        "ALTER TABLE payments DROP CONSTRAINT uq_payments_order_id",
    ]),
]


# -- checks --------------------------------------------------------------------------
BIND_LIKE = re.compile(r"(?<![:\w\\]):\w")   # what SQLAlchemy's text() would take for a bind


def check(revs: list[Rev]) -> None:
    assert len(revs) == 30, len(revs)
    assert sum(not r.transactional for r in revs) == 1
    for r in revs:
        for s in r.up + r.down:
            # op.execute(str) goes through sqlalchemy.text(): no `:name`, and keep
            # away from `%` and backslashes so the text reaches the server unchanged.
            assert not BIND_LIKE.search(s), (r.message, s)
            assert "%" not in s and "\\" not in s and "'''" not in s, (r.message, s)
            assert not s.endswith(";"), (r.message, s)


def assign_ids(revs: list[Rev]) -> None:
    parent = None
    for n, r in enumerate(revs, 1):
        r.id = hashlib.sha1(f"retort-pg-bench-{n}".encode()).hexdigest()[:12]
        r.parent = parent
        r.date = dt.datetime(2025, 1, 6, 9, 0) + dt.timedelta(days=n, minutes=7 * n)
        parent = r.id


def slug(message: str, length: int = 40) -> str:
    words = re.sub(r"\W", " ", message).lower().split()
    out = "_".join(words)
    if len(out) > length:
        out = out[:length].rsplit("_", 1)[0]
    return out


def sql_body(statements: list[str]) -> str:
    return "\n\n".join(s + ";" for s in statements)


# -- retort -----------------------------------------------------------------------------
def render_sql(r: Rev) -> str:
    lines = [
        f"-- {r.message}",
        "--",
        f"-- Revision ID: {r.id}",
        f"-- Revises: {r.parent or ''}".rstrip(),
        f"-- Create Date: {r.date:%Y-%m-%d %H:%M:%S}",
    ]
    if not r.transactional:
        lines.append("-- Transactional: false")
    lines += ["", "-- migrate:up", sql_body(r.up), "", "-- migrate:down", sql_body(r.down), ""]
    return "\n".join(lines)


# -- psql -----------------------------------------------------------------------------
def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def render_psql(revs: list[Rev]) -> str:
    """One script: per revision BEGIN; its statements; the version row; COMMIT.
    The version table is created inside the first revision's transaction (one
    commit fewer than a runner that creates it on its own). The non-transactional
    revision runs in autocommit, its version row update last."""
    t = VERSION_TABLE
    out = [
        "-- generated by bench/pg/gen_workload.py: the whole workload, one transaction per revision",
        "\\set ON_ERROR_STOP on",
        "",
    ]
    for r in revs:
        out.append(f"-- {r.id}: {r.message}")
        if r.transactional:
            out.append("BEGIN;")
        if r.parent is None:
            out.append(
                f"CREATE TABLE {t} (\n    version_num VARCHAR(32) NOT NULL,\n"
                f"    CONSTRAINT {t}_pkc PRIMARY KEY (version_num)\n);"
            )
        out.append(sql_body(r.up))
        if r.parent is None:
            out.append(f"INSERT INTO {t} (version_num) VALUES ({quote(r.id)});")
        else:
            out.append(f"UPDATE {t} SET version_num = {quote(r.id)} WHERE version_num = {quote(r.parent)};")
        if r.transactional:
            out.append("COMMIT;")
        out.append("")
    return "\n".join(out)


# -- alembic ----------------------------------------------------------------------------
def py_calls(statements: list[str], transactional: bool) -> str:
    indent = "    " if transactional else "        "
    calls = "\n".join(f"{indent}op.execute({s!r})" if "\n" not in s else f'{indent}op.execute("""{s}""")'
                      for s in statements)
    if transactional:
        return calls
    return "    with op.get_context().autocommit_block():\n" + calls


def render_py(r: Rev) -> str:
    assert '"""' not in "".join(r.up + r.down)
    return f'''"""{r.message}

Revision ID: {r.id}
Revises: {r.parent or ''}
Create Date: {r.date:%Y-%m-%d %H:%M:%S}.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = {r.id!r}
down_revision: Union[str, Sequence[str], None] = {r.parent!r}
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
{py_calls(r.up, r.transactional)}


def downgrade() -> None:
    """Downgrade schema."""
{py_calls(r.down, r.transactional)}
'''


ALEMBIC_INI = """\
# Alembic config for the PostgreSQL benchmark workload (bench/pg/gen_workload.py).
[alembic]
script_location = %(here)s
prepend_sys_path = .
path_separator = os
sqlalchemy.url = {url}

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %%(levelname)-5.5s [%%(name)s] %%(message)s
datefmt = %%H:%%M:%%S
"""

ENV_PY = '''\
"""Alembic environment for the PostgreSQL benchmark workload: URL from
alembic.ini, no target metadata, one transaction per revision."""
from logging.config import fileConfig

from sqlalchemy import engine_from_config, pool

from alembic import context

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = None


def run_migrations_offline() -> None:
    """Emit the SQL to the script output instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        transaction_per_migration=True,
        version_table="alembic_version",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a connection, one transaction per revision."""
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            transaction_per_migration=True,
            version_table="alembic_version",
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

SCRIPT_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: Union[str, Sequence[str], None] = ${repr(down_revision)}
branch_labels: Union[str, Sequence[str], None] = ${repr(branch_labels)}
depends_on: Union[str, Sequence[str], None] = ${repr(depends_on)}


def upgrade() -> None:
    """Upgrade schema."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Downgrade schema."""
    ${downgrades if downgrades else "pass"}
'''


def sqlalchemy_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"--url must start with postgres:// or postgresql://, not {url!r}")
    return "postgresql+psycopg2://" + rest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--url", default=DEFAULT_URL, help=f"libpq-style URL for retort (default {DEFAULT_URL})")
    ap.add_argument("--sqlalchemy-url", help="URL for alembic.ini (default: --url as postgresql+psycopg2://)")
    ap.add_argument("--force", action="store_true", help="replace existing retort/, psql/, alembic/ under OUT")
    args = ap.parse_args(argv)

    sa_url = args.sqlalchemy_url or sqlalchemy_url(args.url)
    if "%" in sa_url or "%" in args.url:
        raise SystemExit("URLs with % are not supported here (alembic.ini interpolation)")
    out: Path = args.out.resolve()
    parts = [out / "retort", out / "psql", out / "alembic"]
    existing = [p for p in parts if p.exists()]
    if existing and not args.force:
        raise SystemExit(f"{existing[0]} exists; pass --force to replace it")
    for p in existing:
        shutil.rmtree(p)

    revs = REVISIONS
    check(revs)
    assign_ids(revs)

    (out / "retort" / "versions").mkdir(parents=True)
    (out / "psql").mkdir(parents=True)
    (out / "alembic" / "versions").mkdir(parents=True)

    for r in revs:
        name = f"{r.id}_{slug(r.message)}"
        (out / "retort" / "versions" / f"{name}.sql").write_text(render_sql(r))
        (out / "alembic" / "versions" / f"{name}.py").write_text(render_py(r))
    toml_path = out / "retort" / "retort.toml"
    toml_path.write_text(
        "# generated by bench/pg/gen_workload.py\n"
        "[databases.bench]\n"
        f"url = {json.dumps(args.url)}\n"
        f"script_location = {json.dumps(str(out / 'retort'))}\n"
        f'version_table = "{VERSION_TABLE}"\n'
    )
    (out / "psql" / "all.sql").write_text(render_psql(revs))
    (out / "alembic" / "alembic.ini").write_text(ALEMBIC_INI.format(url=sa_url))
    (out / "alembic" / "env.py").write_text(ENV_PY)
    (out / "alembic" / "script.py.mako").write_text(SCRIPT_MAKO)

    summary = {
        "revisions": len(revs),
        "head": revs[-1].id,
        "statements_up": sum(len(r.up) for r in revs),
        "non_transactional": [r.id for r in revs if not r.transactional],
        "url": args.url,
        "sqlalchemy_url": sa_url,
        "list": [{"id": r.id, "message": r.message, "up": len(r.up), "down": len(r.down),
                  "transactional": r.transactional} for r in revs],
    }
    (out / "workload.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: summary[k] for k in ("revisions", "head", "statements_up", "non_transactional")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
