//! Typed handles on an entity's fields, for conditions, filters and updates.

use std::marker::PhantomData;

/// A field type whose value is a map of named fields: a struct deriving
/// [`Value`](crate::Value), or an `Option` of one. `Fields` is the struct, whose
/// constants (`Address::CITY`) name the fields inside: one of them can be set or
/// removed without rewriting the map (`Update::set_in`).
pub trait Nested {
    /// The struct whose fields the map holds.
    type Fields;
}

impl<S: Nested> Nested for Option<S> {
    type Fields = S::Fields;
}

/// Ties a field to its entity and value type without owning either (always Send,
/// Sync and Copy, whatever `E` and `T` are).
type Marker<E, T> = PhantomData<fn() -> (E, Box<T>)>;

/// Field `name` of entity `E`, holding a `T`. The derive generates one constant per
/// field (`User::EMAIL`); operations use it to name the attribute safely and to check
/// the type of the values compared with or assigned to it.
pub struct Field<E, T: ?Sized> {
    name: &'static str,
    attribute: &'static str,
    map: Option<&'static str>,
    marker: Marker<E, T>,
}

// Derived impls would require E: Copy and T: Copy.
impl<E, T: ?Sized> Clone for Field<E, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E, T: ?Sized> Copy for Field<E, T> {}

impl<E, T: ?Sized> std::fmt::Debug for Field<E, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Field({} -> {})", self.name, self.attribute)
    }
}

impl<E, T: ?Sized> Field<E, T> {
    /// A field stored in `attribute`, inside map attribute `map` when packed.
    pub const fn new(name: &'static str, attribute: &'static str, map: Option<&'static str>) -> Self {
        Field { name, attribute, map, marker: PhantomData }
    }

    /// The Rust field name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The attribute name (inside the map when packed).
    pub const fn attribute(&self) -> &'static str {
        self.attribute
    }

    /// The map attribute the field is packed into, if any.
    pub const fn map(&self) -> Option<&'static str> {
        self.map
    }
}
