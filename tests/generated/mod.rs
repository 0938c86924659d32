//! This service's migrations, oldest first. `generate` adds new ones to the list.

onetable::migrations! {
    v0_4_0_add_invoices,
}
