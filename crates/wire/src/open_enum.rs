//! The `open_enum!` macro: string enums that keep values they do not know.
//!
//! The services add states and operations over time. Every such enum gets a last variant
//! `Unknown(String)` that holds any value not listed, and serializes it back verbatim, so a
//! newer service never breaks deserialization.

/// Declares a string enum with an `Unknown(String)` fallback.
///
/// Syntax: `Variant => "wire"` or `Variant => "wire" | "alias" ...`. Parsing tries the wire
/// value and aliases exactly, then ignoring ASCII case; anything else becomes `Unknown`.
/// Serialization always writes the wire value (or the `Unknown` text verbatim).
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of migplan does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// Every known variant, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The value as written on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// Parses a wire value; never fails (unknown values become `Unknown`).
            pub fn parse(s: &str) -> Self {
                match s {
                    $( $wire $(| $alias)* => return $name::$variant, )+
                    _ => {}
                }
                $(
                    if s.eq_ignore_ascii_case($wire) $(|| s.eq_ignore_ascii_case($alias))* {
                        return $name::$variant;
                    }
                )+
                $name::Unknown(s.to_owned())
            }

            /// True for the `Unknown` fallback.
            pub fn is_unknown(&self) -> bool {
                matches!(self, $name::Unknown(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name::parse(s))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::parse(s)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
                ser.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
                struct V;
                impl ::serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a string (", stringify!($name), ")"))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::parse(v))
                    }
                }
                de.deserialize_str(V)
            }
        }
    };
}

pub(crate) use open_enum;

#[cfg(test)]
mod tests {
    open_enum! {
        /// Test enum.
        pub enum Colour {
            /// red
            Red => "RED",
            /// green
            Green => "GREEN" | "GRUEN",
        }
    }

    #[test]
    fn known_values_round_trip() {
        let c: Colour = serde_json::from_str("\"RED\"").unwrap();
        assert_eq!(c, Colour::Red);
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"RED\"");
    }

    #[test]
    fn aliases_and_case_are_accepted_but_wire_value_is_written() {
        assert_eq!(Colour::parse("GRUEN"), Colour::Green);
        assert_eq!(Colour::parse("green"), Colour::Green);
        assert_eq!(Colour::parse("gruen").as_str(), "GREEN");
        assert_eq!(Colour::KNOWN, &[Colour::Red, Colour::Green]);
    }

    #[test]
    fn unknown_values_are_kept_verbatim() {
        let c: Colour = serde_json::from_str("\"Purple-ish\"").unwrap();
        assert_eq!(c, Colour::Unknown("Purple-ish".into()));
        assert!(c.is_unknown());
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"Purple-ish\"");
    }

    #[test]
    fn non_strings_are_an_error_not_a_panic() {
        assert!(serde_json::from_str::<Colour>("12").is_err());
    }
}
