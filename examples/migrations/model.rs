//! The service's users, as each version of its code stored them.

use onetable::Entity;

/// Users as the first version of the service stored them.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "User")]
#[key(pk = "USER#${id}", sk = "USER")]
pub struct UserV1 {
    pub id: String,
    pub account: String,
    pub email: String,
}

/// Version 2: the same users, findable by email.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "User")]
#[key(pk = "USER#${id}", sk = "USER")]
#[index(name = "gs1", pk = "EMAIL#${email}", sk = "USER")]
pub struct UserV2 {
    pub id: String,
    pub account: String,
    pub email: String,
}

/// Version 3, today's code: users live in their account's partition.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "User")]
#[key(pk = "ACCOUNT#${account}", sk = "USER#${id}")]
#[index(name = "gs1", pk = "EMAIL#${email}", sk = "USER")]
pub struct User {
    pub id: String,
    pub account: String,
    pub email: String,
}
