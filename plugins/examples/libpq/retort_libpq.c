/*
 * retort_libpq: a retort driver plugin in C, against retort_plugin.h, driving
 * PostgreSQL through libpq. URLs are `pq://user@host:port/db?...`, handed to
 * libpq as `postgresql://...`. The run lock is a session advisory lock keyed by
 * hashtextextended(name), polled so that a waiting runner holds no snapshot.
 * An interrupted run's statement is cancelled with PQcancel, and `presence`
 * reads the catalog as the built-in PostgreSQL driver does.
 *
 * Build: cc -shared -fPIC -O2 -I../../abi/include -I$(pg_config --includedir) \
 *          retort_libpq.c -lpq -o libretort_libpq.so
 *
 * Compiled with -DRETORT_LIBPQ_OLD_TABLE it declares the smaller table of a
 * plugin built before the optional entries existed (the host must treat them as
 * absent); with -DRETORT_LIBPQ_ABI_MAJOR=N it claims another ABI major.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpq-fe.h>

#include "retort_plugin.h"

#ifndef RETORT_LIBPQ_ABI_MAJOR
#define RETORT_LIBPQ_ABI_MAJOR RETORT_ABI_MAJOR
#endif

static char *copy(const char *text) {
    size_t n = strlen(text) + 1;
    char *out = malloc(n);
    if (out) memcpy(out, text, n);
    return out;
}

/* Fills `err` with `message` (its trailing newline cut) and `code`. */
static int32_t fail(retort_error *err, const char *message, const char *code, int32_t status) {
    if (err) {
        err->message = copy(message ? message : "libpq error");
        if (err->message) {
            size_t n = strlen(err->message);
            while (n > 0 && (err->message[n - 1] == '\n' || err->message[n - 1] == ' ')) err->message[--n] = 0;
        }
        err->code = code ? copy(code) : NULL;
    }
    return status;
}

/* The status for a failed result: lock_timeout (55P03) is worth a retry. */
static int32_t fail_result(retort_error *err, PGconn *conn, PGresult *res) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int32_t status = (state && strcmp(state, "55P03") == 0) ? RETORT_LOCK_NOT_AVAILABLE : RETORT_ERROR;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    int32_t out = fail(err, primary ? primary : PQerrorMessage(conn), state, status);
    PQclear(res);
    return out;
}

/* An open session: the connection, and what cancels its running statement. */
typedef struct session {
    PGconn *pg;
    PGcancel *cancel;
} session;

static PGconn *pg_of(retort_conn c) { return ((session *)c)->pg; }

static int ok(PGresult *res) {
    ExecStatusType s = PQresultStatus(res);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY;
}

/* Runs one setting; 0 on success. */
static int set(PGconn *conn, const char *sql, retort_error *err) {
    PGresult *res = PQexec(conn, sql);
    if (!ok(res)) return fail_result(err, conn, res);
    PQclear(res);
    return RETORT_OK;
}

static int32_t pq_open(const char *url, const retort_settings *settings, retort_conn *out, retort_error *err) {
    const char *rest = strstr(url, "://");
    if (!rest) return fail(err, "not a pq:// URL", NULL, RETORT_ERROR);
    size_t n = strlen("postgresql") + strlen(rest) + 1;
    char *conninfo = malloc(n);
    if (!conninfo) return fail(err, "out of memory", NULL, RETORT_ERROR);
    snprintf(conninfo, n, "postgresql%s", rest);
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *app = settings && settings->application_name && *settings->application_name
                          ? settings->application_name
                          : "retort";
    const char *values[] = {conninfo, app, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    free(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        int32_t status = fail(err, PQerrorMessage(conn), NULL, RETORT_ERROR);
        PQfinish(conn);
        return status;
    }
    char sql[256];
    int32_t status = RETORT_OK;
    if (settings && settings->statement_timeout_ms) {
        snprintf(sql, sizeof sql, "SET statement_timeout = %llu", (unsigned long long)settings->statement_timeout_ms);
        status = set(conn, sql, err);
    }
    if (status == RETORT_OK && settings && settings->lock_timeout_ms) {
        snprintf(sql, sizeof sql, "SET lock_timeout = %llu", (unsigned long long)settings->lock_timeout_ms);
        status = set(conn, sql, err);
    }
    if (status == RETORT_OK && settings && settings->schema) {
        char *ident = PQescapeIdentifier(conn, settings->schema, strlen(settings->schema));
        char *path = malloc(strlen(ident) + 32);
        sprintf(path, "SET search_path TO %s", ident);
        status = set(conn, path, err);
        free(path);
        PQfreemem(ident);
    }
    session *opened = status == RETORT_OK ? malloc(sizeof *opened) : NULL;
    if (status == RETORT_OK && !opened) status = fail(err, "out of memory", NULL, RETORT_ERROR);
    if (status != RETORT_OK) {
        PQfinish(conn);
        return status;
    }
    opened->pg = conn;
    opened->cancel = PQgetCancel(conn);
    *out = opened;
    return RETORT_OK;
}

static void pq_close(retort_conn c) {
    session *s = c;
    if (s->cancel) PQfreeCancel(s->cancel);
    PQfinish(s->pg);
    free(s);
}

/* PQcancel is safe beside a call running on the same connection in another thread. */
static int32_t pq_cancel(retort_conn c, retort_error *err) {
    session *s = c;
    char why[256];
    if (s->cancel && !PQcancel(s->cancel, why, sizeof why)) return fail(err, why, NULL, RETORT_ERROR);
    return RETORT_OK;
}

static int32_t pq_execute(retort_conn c, const char *sql, uint64_t *affected, retort_error *err) {
    PGconn *conn = pg_of(c);
    PGresult *res = PQexec(conn, sql);
    if (!ok(res)) return fail_result(err, conn, res);
    const char *tuples = PQcmdTuples(res);
    *affected = (tuples && *tuples) ? strtoull(tuples, NULL, 10) : 0;
    PQclear(res);
    return RETORT_OK;
}

/* Rows of a result as text; NULL cells stay NULL. */
static int32_t rows_of(PGresult *res, retort_rows *rows, retort_error *err) {
    int nrows = PQntuples(res), ncols = PQnfields(res);
    rows->rows = (uint64_t)nrows;
    rows->columns = (uint32_t)ncols;
    rows->cells = calloc((size_t)nrows * (size_t)ncols + 1, sizeof(char *));
    if (!rows->cells) return fail(err, "out of memory", NULL, RETORT_ERROR);
    for (int r = 0; r < nrows; r++)
        for (int col = 0; col < ncols; col++)
            if (!PQgetisnull(res, r, col)) rows->cells[(size_t)r * ncols + col] = copy(PQgetvalue(res, r, col));
    return RETORT_OK;
}

static int32_t pq_query(retort_conn c, const char *sql, retort_rows *rows, retort_error *err) {
    PGconn *conn = pg_of(c);
    PGresult *res = PQexec(conn, sql);
    if (!ok(res)) return fail_result(err, conn, res);
    int32_t status = rows_of(res, rows, err);
    PQclear(res);
    return status;
}

static void pq_free_rows(retort_rows *rows) {
    for (uint64_t i = 0; i < rows->rows * rows->columns; i++) free(rows->cells[i]);
    free(rows->cells);
    rows->cells = NULL;
}

/* A one-value query with text parameters; the first column of the first row. */
static int32_t scalar(PGconn *conn, const char *sql, int n, const char *const *params, char *out, size_t size,
                      retort_error *err) {
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    if (!ok(res)) return fail_result(err, conn, res);
    out[0] = 0;
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return RETORT_OK;
}

static int32_t pq_table_exists(retort_conn c, const char *schema, const char *name, int32_t *exists,
                               retort_error *err) {
    const char *params[] = {schema, name};
    char value[8];
    int32_t status = scalar(pg_of(c),
                            "SELECT count(*) FROM pg_catalog.pg_tables "
                            "WHERE schemaname = coalesce($1, current_schema()) AND tablename = $2",
                            2, params, value, sizeof value, err);
    if (status == RETORT_OK) *exists = strcmp(value, "0") != 0;
    return status;
}

static void free_string(char *s) { free(s); }

static int32_t pq_lock(retort_conn c, const char *name, uint64_t timeout_ms, retort_error *err) {
    const char *params[] = {name};
    struct timespec start, now, pause = {0, 50 * 1000000L};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        char got[8];
        int32_t status = scalar(pg_of(c), "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", 1, params, got,
                                sizeof got, err);
        if (status != RETORT_OK) return status;
        if (strcmp(got, "t") == 0) return RETORT_OK;
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t waited = (uint64_t)(now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (waited >= timeout_ms) return fail(err, "the run lock is held by another session", NULL, RETORT_LOCK_TIMEOUT);
        while (nanosleep(&pause, &pause) == -1 && errno == EINTR) {}
        pause.tv_sec = 0;
        pause.tv_nsec = 100 * 1000000L;
    }
}

static int32_t pq_unlock(retort_conn c, const char *name, retort_error *err) {
    const char *params[] = {name};
    char done[8];
    return scalar(pg_of(c), "SELECT pg_advisory_unlock(hashtextextended($1, 0))", 1, params, done, sizeof done, err);
}

/* Whether `word` stands in `sql` as a whole word, case-insensitively. */
static int has_word(const char *sql, const char *word) {
    size_t n = strlen(word);
    for (const char *p = sql; *p; p++) {
        if (strncasecmp(p, word, n) != 0) continue;
        int starts = p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        int ends = !(isalnum((unsigned char)p[n]) || p[n] == '_');
        if (starts && ends) return 1;
    }
    return 0;
}

/* PostgreSQL refuses some statements inside a transaction block; the rest of a
   non-transactional revision may share one with its progress record. Errs on the
   side of autocommit: any of these words anywhere. */
static int32_t pq_shares_transaction(const char *sql) {
    static const char *const refused[] = {"CONCURRENTLY", "VACUUM", "DATABASE", "TABLESPACE", "SYSTEM",
                                          "SUBSCRIPTION", "CALL", "DO", "BEGIN", "COMMIT", "ROLLBACK",
                                          "SAVEPOINT", "CLUSTER", "DISCARD", "VALUE", "TRANSACTION", NULL};
    for (const char *const *w = refused; *w; w++)
        if (has_word(sql, *w)) return 0;
    return 1;
}

/* A name part folded as PostgreSQL folds: unquoted to lower case. NULL stays NULL. */
static char *folded(const char *text, int quoted) {
    if (!text) return NULL;
    char *out = copy(text);
    if (out && !quoted)
        for (char *p = out; *p; p++) *p = (char)tolower((unsigned char)*p);
    return out;
}

/* `"schema"."name"` for to_regclass and to_regtype, from folded parts. */
static char *regname(PGconn *conn, const char *schema, const char *name) {
    char *n = PQescapeIdentifier(conn, name, strlen(name));
    char *s = schema ? PQescapeIdentifier(conn, schema, strlen(schema)) : NULL;
    char *out = NULL;
    if (n && (s || !schema)) {
        size_t len = strlen(n) + (s ? strlen(s) + 1 : 0) + 1;
        out = malloc(len);
        if (out) snprintf(out, len, "%s%s%s", s ? s : "", s ? "." : "", n);
    }
    PQfreemem(n);
    PQfreemem(s);
    return out;
}

/* One catalog question per kind, answering t (present), i (invalid), or f, NULL
   or no row (absent). Parameters: $1 the object's regname, $2 its folded name,
   $3 its folded schema (NULL: the search path), $4 its table's regname. */
static const char *const PRESENCE_SQL[] = {
    [RETORT_OBJECT_TABLE] = "SELECT relkind IN ('r', 'p', 'f') FROM pg_class WHERE oid = to_regclass($1)",
    [RETORT_OBJECT_VIEW] = "SELECT relkind IN ('v', 'm') FROM pg_class WHERE oid = to_regclass($1)",
    [RETORT_OBJECT_SEQUENCE] = "SELECT relkind = 'S' FROM pg_class WHERE oid = to_regclass($1)",
    [RETORT_OBJECT_INDEX] = "SELECT CASE WHEN i.indisvalid THEN 't' ELSE 'i' END FROM pg_class c "
                            "JOIN pg_index i ON i.indexrelid = c.oid WHERE c.oid = to_regclass($1)",
    [RETORT_OBJECT_TYPE] = "SELECT EXISTS (SELECT 1 FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid "
                           "WHERE t.oid = to_regtype($1) AND (t.typrelid = 0 OR c.relkind = 'c'))",
    [RETORT_OBJECT_FUNCTION] = "SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                               "WHERE p.proname = $2 AND p.prokind IN ('f', 'a', 'w') AND CASE WHEN $3 IS NULL "
                               "THEN n.nspname = ANY(current_schemas(false)) ELSE n.nspname = $3 END)",
    [RETORT_OBJECT_PROCEDURE] = "SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                                "WHERE p.proname = $2 AND p.prokind = 'p' AND CASE WHEN $3 IS NULL "
                                "THEN n.nspname = ANY(current_schemas(false)) ELSE n.nspname = $3 END)",
    [RETORT_OBJECT_TRIGGER] = "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($4) "
                              "AND tgname = $2 AND NOT tgisinternal)",
    [RETORT_OBJECT_COLUMN] = "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($4) "
                             "AND attname = $2 AND attnum > 0 AND NOT attisdropped)",
    [RETORT_OBJECT_CONSTRAINT] = "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($4) "
                                 "AND conname = $2)",
    [RETORT_OBJECT_SCHEMA] = "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $2)",
    [RETORT_OBJECT_DATABASE] = "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $2)",
};

static int32_t pq_presence(retort_conn c, const retort_object *object, int32_t *state, retort_error *err) {
    PGconn *conn = pg_of(c);
    const retort_name *name = &object->name, *table = object->table.name ? &object->table : NULL;
    int of_table = object->kind == RETORT_OBJECT_TRIGGER || object->kind == RETORT_OBJECT_COLUMN ||
                   object->kind == RETORT_OBJECT_CONSTRAINT;
    *state = RETORT_UNKNOWN;
    if (object->kind > RETORT_OBJECT_DATABASE || !name->name || (of_table && !table)) return RETORT_OK;
    /* An index lives in its table's schema. */
    const retort_name *home = (object->kind == RETORT_OBJECT_INDEX && !name->schema && table) ? table : name;
    char *schema = folded(home->schema, home->quoted & RETORT_QUOTED_SCHEMA);
    char *own_schema = folded(name->schema, name->quoted & RETORT_QUOTED_SCHEMA);
    char *bare = folded(name->name, name->quoted & RETORT_QUOTED_NAME);
    char *table_schema = table ? folded(table->schema, table->quoted & RETORT_QUOTED_SCHEMA) : NULL;
    char *table_name = table ? folded(table->name, table->quoted & RETORT_QUOTED_NAME) : NULL;
    char *reg = bare ? regname(conn, schema, bare) : NULL;
    char *table_reg = table_name ? regname(conn, table_schema, table_name) : NULL;
    int32_t status;
    if (!reg || (table && !table_reg)) {
        status = fail(err, "out of memory", NULL, RETORT_ERROR);
    } else {
        const Oid text[] = {25, 25, 25, 25};
        const char *params[] = {reg, bare, own_schema, table_reg};
        PGresult *res = PQexecParams(conn, PRESENCE_SQL[object->kind], 4, text, params, NULL, NULL, 0);
        if (!ok(res)) {
            status = fail_result(err, conn, res);
        } else {
            const char *answer = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "f";
            *state = strcmp(answer, "t") == 0 ? RETORT_PRESENT : strcmp(answer, "i") == 0 ? RETORT_INVALID : RETORT_ABSENT;
            PQclear(res);
            status = RETORT_OK;
        }
    }
    free(schema);
    free(own_schema);
    free(bare);
    free(table_schema);
    free(table_name);
    free(reg);
    free(table_reg);
    return status;
}

static const retort_plugin PLUGIN = {
#ifdef RETORT_LIBPQ_OLD_TABLE
    .size = offsetof(retort_plugin, begin),
#else
    .size = sizeof(retort_plugin),
#endif
    .abi_major = RETORT_LIBPQ_ABI_MAJOR,
    .abi_minor = RETORT_ABI_MINOR,
    .name = "libpq",
    .version = "0.1.0",
    .schemes = "pq",
    .flags = RETORT_TRANSACTIONAL_DDL | RETORT_SCHEMAS,
    .lexer = RETORT_LEXER_STANDARD,
    .quote = NULL,
    .create_version_table = NULL,
    .create_progress_table = NULL,
    .open = pq_open,
    .close = pq_close,
    .execute = pq_execute,
    .query = pq_query,
    .free_rows = pq_free_rows,
    .table_exists = pq_table_exists,
    .free_string = free_string,
    .begin = NULL, /* the host runs BEGIN, COMMIT and ROLLBACK */
    .commit = NULL,
    .rollback = NULL,
    .lock = pq_lock,
    .unlock = pq_unlock,
    .shares_transaction = pq_shares_transaction,
    .cancel = pq_cancel,
    .presence = pq_presence,
};

const retort_plugin *retort_plugin_entry(void) { return &PLUGIN; }
