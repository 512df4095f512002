//! Catalog objects in the ABI's terms, for a plugin's `presence`.

use std::ffi::CString;

use retort_engine::statement::{Name, Object, ObjectKind};
use retort_plugin_abi::*;

use crate::conn::c_string;

/// A catalog object's names as C strings, for `presence`.
pub(crate) struct ObjectText {
    kind: u32,
    name: NameText,
    table: Option<NameText>,
}

/// A name's parts as C strings, and which were quoted.
struct NameText {
    schema: Option<CString>,
    name: CString,
    quoted: u32,
}

impl ObjectText {
    pub(crate) fn new(object: &Object) -> Result<ObjectText, String> {
        let kind = match object.kind {
            ObjectKind::Table => RETORT_OBJECT_TABLE,
            ObjectKind::View => RETORT_OBJECT_VIEW,
            ObjectKind::Index => RETORT_OBJECT_INDEX,
            ObjectKind::Sequence => RETORT_OBJECT_SEQUENCE,
            ObjectKind::Type => RETORT_OBJECT_TYPE,
            ObjectKind::Function => RETORT_OBJECT_FUNCTION,
            ObjectKind::Procedure => RETORT_OBJECT_PROCEDURE,
            ObjectKind::Trigger => RETORT_OBJECT_TRIGGER,
            ObjectKind::Column => RETORT_OBJECT_COLUMN,
            ObjectKind::Constraint => RETORT_OBJECT_CONSTRAINT,
            ObjectKind::Schema => RETORT_OBJECT_SCHEMA,
            ObjectKind::Database => RETORT_OBJECT_DATABASE,
        };
        let table = object.table.as_ref().map(NameText::new).transpose()?;
        Ok(ObjectText { kind, name: NameText::new(&object.name)?, table })
    }

    /// The ABI's view, borrowing these strings.
    pub(crate) fn raw(&self) -> RetortObject {
        let none = RetortName { schema: std::ptr::null(), name: std::ptr::null(), quoted: 0 };
        RetortObject {
            size: std::mem::size_of::<RetortObject>() as u32,
            kind: self.kind,
            name: self.name.raw(),
            table: self.table.as_ref().map_or(none, NameText::raw),
        }
    }
}

impl NameText {
    fn new(name: &Name) -> Result<NameText, String> {
        let schema = name.schema.as_ref().map(|s| c_string(&s.text)).transpose()?;
        let quoted = name.schema.as_ref().map_or(0, |s| if s.quoted { RETORT_QUOTED_SCHEMA } else { 0 })
            | if name.name.quoted { RETORT_QUOTED_NAME } else { 0 };
        Ok(NameText { schema, name: c_string(&name.name.text)?, quoted })
    }

    fn raw(&self) -> RetortName {
        RetortName {
            schema: self.schema.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            name: self.name.as_ptr(),
            quoted: self.quoted,
        }
    }
}
