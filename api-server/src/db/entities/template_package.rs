//! `template_packages`: a version's package (tar.gz), kept apart so lists never read it.

use sea_orm::entity::prelude::*;

/// A package row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "template_packages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub version_id: Uuid,
    /// The canonical package: rebuilt from exactly the files that were checked.
    pub package: Vec<u8>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
