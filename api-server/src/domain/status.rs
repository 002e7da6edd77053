//! Statuses: each stored as text (a `DeriveActiveEnum`), shown as the same snake_case word in
//! the API and its OpenAPI document, and named once, by [`status_enum!`].

/// Defines a status enum: its variants with their stored words, `ALL`, `as_str`, `parse`
/// and `Display`. The words are the serde names too (snake_case of the variant).
macro_rules! status_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $word:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            serde::Serialize,
            serde::Deserialize,
            utoipa::ToSchema,
            sea_orm::EnumIter,
            sea_orm::DeriveActiveEnum,
        )]
        #[serde(rename_all = "snake_case")]
        #[sea_orm(
            rs_type = "String",
            db_type = "String(sea_orm::sea_query::StringLen::None)"
        )]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[sea_orm(string_value = $word)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The API's (and the database's) word for it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            /// The value named `s`, if it is one.
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use status_enum;

#[cfg(test)]
mod tests {
    status_enum! {
        /// A status for the test.
        Sample {
            /// One.
            First = "first",
            /// Two.
            SecondOne = "second_one",
        }
    }

    #[test]
    fn the_word_is_the_serde_name_and_parses_back() {
        for s in Sample::ALL {
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::String(s.as_str().into())
            );
            assert_eq!(Sample::parse(s.as_str()), Some(*s));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(Sample::parse("third"), None);
    }
}
