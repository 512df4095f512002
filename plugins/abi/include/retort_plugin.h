/*
 * retort_plugin.h: the C ABI between retort and a driver loaded at run time.
 *
 * A plugin is a shared library exporting one function, retort_plugin_entry,
 * that returns a pointer to a static retort_plugin table. The table is led by its
 * own size and the ABI version and only grows at its end: a host reads the
 * `size` bytes the plugin declares and treats every entry beyond them as absent.
 * A plugin of another RETORT_ABI_MAJOR is refused.
 *
 * Ownership: strings and rows the plugin hands out (error messages and codes,
 * query rows) belong to the plugin and are given back with its free_string and
 * free_rows. What the host passes in (URLs, SQL, settings) belongs to the host
 * and is valid only during the call. Static facts (name, version, schemes,
 * quote, create_version_table) live as long as the library is loaded.
 *
 * This header mirrors plugins/abi/src/lib.rs; plugins/abi/tests/header.rs fails
 * when the two disagree. The vendor's guide is docs/plugins.md.
 */
#ifndef RETORT_PLUGIN_H
#define RETORT_PLUGIN_H

#include <stdint.h>

#define RETORT_ABI_MAJOR 1
#define RETORT_ABI_MINOR 1

/* Status of every call. */
#define RETORT_OK 0
#define RETORT_ERROR 1
#define RETORT_LOCK_TIMEOUT 2       /* lock: the run lock was not acquired in time */
#define RETORT_LOCK_NOT_AVAILABLE 3 /* a statement gave up waiting for a table lock: retry */

/* flags */
#define RETORT_TRANSACTIONAL_DDL 1u
#define RETORT_SCHEMAS 2u

/* lexer: how revision bodies are split into statements */
#define RETORT_LEXER_STANDARD 0u  /* standard SQL with PostgreSQL's $$ quoting */
#define RETORT_LEXER_MYSQL 1u     /* backticks, # comments, DELIMITER */
#define RETORT_LEXER_SQLITE 2u    /* BEGIN ... END trigger bodies */
#define RETORT_LEXER_SQLSERVER 3u /* GO batches */

/* presence: kinds of catalog objects (retort_object.kind) */
#define RETORT_OBJECT_TABLE 0u
#define RETORT_OBJECT_VIEW 1u
#define RETORT_OBJECT_INDEX 2u
#define RETORT_OBJECT_SEQUENCE 3u
#define RETORT_OBJECT_TYPE 4u       /* a user-defined type */
#define RETORT_OBJECT_FUNCTION 5u
#define RETORT_OBJECT_PROCEDURE 6u
#define RETORT_OBJECT_TRIGGER 7u    /* of retort_object.table */
#define RETORT_OBJECT_COLUMN 8u     /* of retort_object.table */
#define RETORT_OBJECT_CONSTRAINT 9u /* of retort_object.table */
#define RETORT_OBJECT_SCHEMA 10u
#define RETORT_OBJECT_DATABASE 11u

/* presence: answers */
#define RETORT_ABSENT 0
#define RETORT_PRESENT 1
#define RETORT_INVALID 2  /* present but unusable (an index a failed concurrent build left) */
#define RETORT_UNKNOWN -1 /* the plugin cannot tell for this kind */

/* retort_name.quoted: which parts were written in quotes (they keep their case) */
#define RETORT_QUOTED_SCHEMA 1u
#define RETORT_QUOTED_NAME 2u

/* Why a call failed; the plugin fills it, the host frees both with free_string. */
typedef struct retort_error {
    char *message; /* one line for the user; may be NULL */
    char *code;    /* the engine's own code (SQLSTATE, error number); may be NULL */
} retort_error;

/* How to open a session: host-owned, valid during open only; 0/NULL: not set. */
typedef struct retort_settings {
    uint32_t size; /* sizeof(retort_settings) as the host built it */
    int32_t writes; /* the command writes; a read-only one must create nothing */
    const char *base_dir;
    const char *application_name;
    uint64_t statement_timeout_ms;
    uint64_t lock_timeout_ms;
    const char *schema; /* schema per tenant, with RETORT_SCHEMAS */
} retort_settings;

/* Query rows as text, row-major; a NULL cell is SQL NULL. Plugin-owned. */
typedef struct retort_rows {
    uint64_t rows;
    uint32_t columns;
    char **cells;
} retort_rows;

/* A name as a statement wrote it, without quotes: host-owned, valid during the call. */
typedef struct retort_name {
    const char *schema; /* NULL: not qualified */
    const char *name;   /* NULL: no name (a table that is not known) */
    uint32_t quoted;    /* RETORT_QUOTED_SCHEMA | RETORT_QUOTED_NAME */
} retort_name;

/* A catalog object a statement creates or drops: host-owned, valid during the call. */
typedef struct retort_object {
    uint32_t size; /* sizeof(retort_object) as the host built it */
    uint32_t kind; /* RETORT_OBJECT_TABLE, ... */
    retort_name name;
    retort_name table; /* columns, constraints; triggers and indexes where named */
} retort_object;

typedef void *retort_conn;

typedef struct retort_plugin {
    uint32_t size; /* sizeof(retort_plugin) as the plugin was built */
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *name;
    const char *version;
    const char *schemes; /* comma-separated URL schemes */
    uint32_t flags;
    uint32_t lexer;
    const char *quote;                /* identifier quote; NULL: '"' */
    const char *create_version_table; /* with {table}; NULL: the standard one */
    const char *create_progress_table; /* with {table}; NULL: the standard one */
    /* Required. */
    int32_t (*open)(const char *url, const retort_settings *settings, retort_conn *conn, retort_error *err);
    void (*close)(retort_conn conn);
    int32_t (*execute)(retort_conn conn, const char *sql, uint64_t *affected, retort_error *err);
    int32_t (*query)(retort_conn conn, const char *sql, retort_rows *rows, retort_error *err);
    void (*free_rows)(retort_rows *rows);
    int32_t (*table_exists)(retort_conn conn, const char *schema, const char *name, int32_t *exists, retort_error *err);
    void (*free_string)(char *s);
    /* Optional: NULL, or beyond size, is absent. */
    int32_t (*begin)(retort_conn conn, retort_error *err);    /* absent: the host runs BEGIN */
    int32_t (*commit)(retort_conn conn, retort_error *err);   /* absent: COMMIT */
    int32_t (*rollback)(retort_conn conn, retort_error *err); /* absent: ROLLBACK */
    int32_t (*lock)(retort_conn conn, const char *name, uint64_t timeout_ms, retort_error *err); /* absent: no run lock */
    int32_t (*unlock)(retort_conn conn, const char *name, retort_error *err);
    /* 1: statement sql of a non-transactional revision may share a transaction with
       its progress record; 0: it must run in autocommit. Absent: data changes only. */
    int32_t (*shares_transaction)(const char *sql);
    /* Since 1.1. Asks the server to stop what conn is running now; called from another
       thread during another call on conn (or none: then it does nothing), never during
       close. Absent: an interrupted run waits for the running statement. */
    int32_t (*cancel)(retort_conn conn, retort_error *err);
    /* Since 1.1. Whether object exists as the session sees it: stores RETORT_PRESENT,
       RETORT_ABSENT, RETORT_INVALID or RETORT_UNKNOWN. Absent: always unknown. */
    int32_t (*presence)(retort_conn conn, const retort_object *object, int32_t *state, retort_error *err);
    const char *create_audit_table; /* since 1.1: with {table}; NULL: the standard one */
} retort_plugin;

/* The one symbol a plugin exports. */
const retort_plugin *retort_plugin_entry(void);

#endif
