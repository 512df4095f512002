//! The drivers this binary was built with (its Cargo features).

use std::sync::Arc;

use retort_ops::Drivers;

/// Every built-in driver.
pub fn built_in() -> Drivers {
    Drivers::new(vec![
        #[cfg(feature = "sqlite")]
        Arc::new(retort_sqlite::SqliteDriver),
        #[cfg(feature = "postgres")]
        Arc::new(retort_postgres::PostgresDriver),
        #[cfg(feature = "mysql")]
        Arc::new(retort_mysql::MysqlDriver),
        #[cfg(feature = "mssql")]
        Arc::new(retort_mssql::MssqlDriver),
    ])
}
