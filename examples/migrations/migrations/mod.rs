//! This service's migrations, oldest first. `generate` adds new ones to the list.

onetable::migrations! {
    v0_1_0_create_the_table,
    v0_2_0_find_users_by_email,
    v0_3_0_users_move_into_their_account_s_partition,
}
