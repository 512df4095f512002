//! Statements that are safe to run but hurt a live application: they drop or
//! rename what running code still reads, rewrite or lock a whole table while
//! they run. `retort check` warns about them outside an expand/contract set.

use super::Name;
use super::lex::*;
use crate::split::Flavor;

/// One way a statement hurts a live application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hazard {
    /// `ALTER TABLE … DROP [COLUMN]`: code still reading the column fails.
    DropColumn { table: Name, column: String },
    /// `ALTER TABLE … RENAME [COLUMN] a TO b`, MySQL's `CHANGE a b`: code using
    /// either name fails during the rollout.
    RenameColumn { table: Name, column: String },
    /// PostgreSQL `ALTER COLUMN … SET NOT NULL`: scans the table under an
    /// `ACCESS EXCLUSIVE` lock.
    SetNotNull { table: Name, column: String },
    /// PostgreSQL `ADD COLUMN … DEFAULT f()` with a volatile `f`: rewrites the
    /// table under an `ACCESS EXCLUSIVE` lock.
    VolatileDefault { table: Name, column: String },
    /// PostgreSQL `CREATE INDEX` without `CONCURRENTLY`: blocks writes to the
    /// table while it builds.
    IndexNotConcurrent { table: Name },
    /// MySQL/MariaDB `ALTER TABLE` without `ALGORITHM=INSTANT` or `INPLACE`: the
    /// server may copy the table, blocking writes, and nothing stops it.
    AlterWithoutAlgorithm { table: Name },
}

impl Hazard {
    /// The table the hazard is on.
    pub fn table(&self) -> &Name {
        match self {
            Hazard::DropColumn { table, .. }
            | Hazard::RenameColumn { table, .. }
            | Hazard::SetNotNull { table, .. }
            | Hazard::VolatileDefault { table, .. }
            | Hazard::IndexNotConcurrent { table }
            | Hazard::AlterWithoutAlgorithm { table } => table,
        }
    }
}

/// PostgreSQL functions whose default makes `ADD COLUMN` rewrite the table.
const VOLATILE: &str = "random|clock_timestamp|timeofday|gen_random_uuid|uuid_generate_v1|uuid_generate_v1mc|\
uuid_generate_v4|nextval|txid_current|setseed";

/// Words that, right after `DROP` in an `ALTER TABLE` clause, name something
/// other than a column.
const NOT_COLUMNS: &str = "CONSTRAINT|INDEX|KEY|PRIMARY|FOREIGN|CHECK|PARTITION|SYSTEM|PERIOD|IDENTITY|EXPRESSION";

/// The hazards of one statement, as the splitter produced it.
pub fn hazards(sql: &str, flavor: Flavor) -> Vec<Hazard> {
    let toks = tokens(sql, flavor);
    let mut r = Reader { toks: &toks, pos: 0, flavor };
    match r.word().as_deref() {
        Some("ALTER") if r.eat("TABLE") => alter_table(&mut r),
        Some("CREATE") if flavor == Flavor::Postgres => {
            r.eat("UNIQUE");
            if !r.eat("INDEX") || r.peek("CONCURRENTLY") || !r.skip_to("ON") {
                return Vec::new();
            }
            r.eat("ON");
            r.eat("ONLY");
            r.name().map(|table| vec![Hazard::IndexNotConcurrent { table }]).unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

fn alter_table(r: &mut Reader) -> Vec<Hazard> {
    r.eat("IF EXISTS");
    r.eat("ONLY");
    let Some(table) = r.name() else { return Vec::new() };
    let rest = r.rest();
    let mut found: Vec<Hazard> = rest
        .split(|t| t.depth == 0 && t.is(","))
        .filter_map(|clause| clause_hazard(clause, r.flavor, &table))
        .collect();
    // `LOCK=NONE` protects writes as well: the server refuses what it cannot do without.
    let algorithm = rest.windows(3).any(|w| {
        (w[0].is("ALGORITHM") && w[2].is("INSTANT|INPLACE") || w[0].is("LOCK") && w[2].is("NONE")) && w[1].is("=")
    });
    if r.flavor == Flavor::MySql && !algorithm {
        found.push(Hazard::AlterWithoutAlgorithm { table });
    }
    found
}

/// The hazard of one top-level clause of `ALTER TABLE table`.
fn clause_hazard(clause: &[Token], flavor: Flavor, table: &Name) -> Option<Hazard> {
    let mut c = Reader { toks: clause, pos: 0, flavor };
    let table = table.clone();
    match c.word()?.as_str() {
        "DROP" if !c.peek(NOT_COLUMNS) => {
            c.eat("COLUMN");
            c.eat("IF EXISTS");
            Some(Hazard::DropColumn { table, column: c.ident()?.text })
        }
        "RENAME" if !c.peek("TO|AS|CONSTRAINT|INDEX|KEY") => {
            c.eat("COLUMN");
            let column = c.ident()?.text;
            c.peek("TO").then_some(Hazard::RenameColumn { table, column })
        }
        "CHANGE" if flavor == Flavor::MySql => {
            c.eat("COLUMN");
            let (from, to) = (c.ident()?, c.ident()?);
            (!from.text.eq_ignore_ascii_case(&to.text)).then_some(Hazard::RenameColumn { table, column: from.text })
        }
        "ALTER" if flavor == Flavor::Postgres => {
            c.eat("COLUMN");
            let column = c.ident()?.text;
            c.eat("SET NOT NULL").then_some(Hazard::SetNotNull { table, column })
        }
        "ADD" if flavor == Flavor::Postgres && !c.peek(NOT_COLUMNS) && !c.peek("UNIQUE|EXCLUDE") => {
            c.eat("COLUMN");
            c.eat("IF NOT EXISTS");
            let column = c.ident()?.text;
            let volatile = c.skip_to("DEFAULT") && c.rest().iter().any(|t| t.is(VOLATILE));
            volatile.then_some(Hazard::VolatileDefault { table, column })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rule table.column` for each hazard.
    fn show(sql: &str, flavor: Flavor) -> Vec<String> {
        hazards(sql, flavor)
            .into_iter()
            .map(|h| match h {
                Hazard::DropColumn { table, column } => format!("drop {}.{column}", table.name.text),
                Hazard::RenameColumn { table, column } => format!("rename {}.{column}", table.name.text),
                Hazard::SetNotNull { table, column } => format!("not-null {}.{column}", table.name.text),
                Hazard::VolatileDefault { table, column } => format!("volatile {}.{column}", table.name.text),
                Hazard::IndexNotConcurrent { table } => format!("index {}", table.name.text),
                Hazard::AlterWithoutAlgorithm { table } => format!("algorithm {}", table.name.text),
            })
            .collect()
    }

    #[test]
    fn postgres_hazards() {
        let pg = |sql| show(sql, Flavor::Postgres);
        assert_eq!(pg("ALTER TABLE t DROP COLUMN a"), ["drop t.a"]);
        assert_eq!(pg("alter table if exists only s.t drop a, drop constraint c"), ["drop t.a"]);
        assert_eq!(pg("ALTER TABLE t DROP CONSTRAINT c"), Vec::<String>::new());
        assert_eq!(pg("ALTER TABLE t RENAME COLUMN a TO b"), ["rename t.a"]);
        assert_eq!(pg("ALTER TABLE t RENAME a TO b"), ["rename t.a"]);
        assert_eq!(pg("ALTER TABLE t RENAME TO u"), Vec::<String>::new());
        assert_eq!(pg("ALTER TABLE t RENAME CONSTRAINT a TO b"), Vec::<String>::new());
        assert_eq!(pg("ALTER TABLE t ALTER COLUMN a SET NOT NULL"), ["not-null t.a"]);
        assert_eq!(pg("ALTER TABLE t ALTER a DROP NOT NULL"), Vec::<String>::new());
        assert_eq!(pg("ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid()"), ["volatile t.u"]);
        assert_eq!(pg("ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()"), Vec::<String>::new());
        assert_eq!(pg("ALTER TABLE t ADD COLUMN n int DEFAULT 0, ADD r float DEFAULT random()"), ["volatile t.r"]);
        assert_eq!(pg("ALTER TABLE t ADD CONSTRAINT ck CHECK (random() > 0)"), Vec::<String>::new());
        assert_eq!(pg("CREATE INDEX ix ON t (a)"), ["index t"]);
        assert_eq!(pg("CREATE UNIQUE INDEX IF NOT EXISTS ix ON ONLY s.t USING btree (a)"), ["index t"]);
        assert_eq!(pg("CREATE INDEX CONCURRENTLY ix ON t (a)"), Vec::<String>::new());
        assert_eq!(pg("CREATE TABLE t (a int)"), Vec::<String>::new());
        assert_eq!(pg("ALTER TABLE t ADD COLUMN a int"), Vec::<String>::new(), "no MySQL rule on PostgreSQL");
    }

    #[test]
    fn mysql_hazards() {
        let my = |sql| show(sql, Flavor::MySql);
        assert_eq!(my("ALTER TABLE t ADD COLUMN a int, ALGORITHM=INSTANT"), Vec::<String>::new());
        assert_eq!(my("ALTER TABLE t ADD INDEX ix (a), ALGORITHM = INPLACE, LOCK=NONE"), Vec::<String>::new());
        assert_eq!(my("ALTER TABLE t ADD COLUMN a int"), ["algorithm t"]);
        assert_eq!(my("ALTER TABLE t ADD COLUMN a int, LOCK=NONE"), Vec::<String>::new());
        assert_eq!(my("ALTER TABLE `t` CHANGE COLUMN a b int, ALGORITHM=INSTANT"), ["rename t.a"]);
        assert_eq!(my("ALTER TABLE t CHANGE a a bigint, ALGORITHM=INPLACE"), Vec::<String>::new());
        assert_eq!(my("ALTER TABLE t DROP COLUMN a, ALGORITHM=INSTANT"), ["drop t.a"]);
        assert_eq!(my("ALTER TABLE t DROP INDEX ix, ALGORITHM=INSTANT"), Vec::<String>::new());
        assert_eq!(my("CREATE INDEX ix ON t (a)"), Vec::<String>::new(), "online by default on InnoDB");
    }

    #[test]
    fn sqlite_hazards() {
        assert_eq!(show("ALTER TABLE t DROP COLUMN a", Flavor::Sqlite), ["drop t.a"]);
        assert_eq!(show("ALTER TABLE t RENAME COLUMN a TO b", Flavor::Sqlite), ["rename t.a"]);
        assert_eq!(show("CREATE INDEX ix ON t (a)", Flavor::Sqlite), Vec::<String>::new());
    }
}
