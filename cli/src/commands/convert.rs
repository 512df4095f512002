//! `retort convert <dir>`: an Alembic `.py` history as retort `.sql` revisions
//! (the work is `retort_ops::convert`).

use anyhow::{Result, bail};
use retort_ops::convert::{self, Request};

use crate::args::{ConvertArgs, Global};
use crate::output::Exit;

pub fn exec(global: &Global, args: &ConvertArgs) -> Result<Exit> {
    let ini = &global.config;
    if ini.extension().is_none_or(|e| e != "ini") {
        bail!("convert runs Alembic: give its config with `-c alembic.ini`");
    }
    let request = Request {
        ini: ini.clone(),
        section: global.name.clone(),
        dialect: args.dialect.clone(),
        out: args.out.clone(),
        python: args.python.clone(),
    };
    let converted = convert::convert(&super::workspace(global)?, &request)?;
    outln!("converted {} revisions into {}", converted.revisions, converted.versions.display());
    Ok(Exit::Ok)
}
