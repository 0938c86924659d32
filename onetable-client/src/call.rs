//! What a request is for, carried by every request the library sends.

use std::sync::Arc;

/// What a request is for: the onetable operation that sends it (`get`, `find`,
/// `migration write`, ...), the entity, the index, the migration, and — for the
/// metrics of hot partitions — its partition key. It labels the request's metrics and
/// its tracing span, and names the entity in the errors of the request.
#[derive(Debug, Clone)]
pub struct Call {
    pub(crate) operation: &'static str,
    pub(crate) entity: &'static str,
    pub(crate) index: Option<&'static str>,
    pub(crate) partition: Option<String>,
    pub(crate) migration: Option<Arc<str>>,
    pub(crate) capacity: bool,
}

impl Call {
    /// A request of `operation` on items of `entity` (empty: several entities, or none).
    pub fn new(operation: &'static str, entity: &'static str) -> Call {
        Call { operation, entity, index: None, partition: None, migration: None, capacity: false }
    }

    /// On index `index` (`None`: the table).
    pub fn index(mut self, index: Option<&'static str>) -> Call {
        self.index = index;
        self
    }

    /// Of the partition with this key (only recorded when metrics record partitions).
    pub fn partition(mut self, partition: Option<String>) -> Call {
        self.partition = partition;
        self
    }

    /// Sent by the migration with this version.
    pub fn migration(mut self, version: impl Into<Arc<str>>) -> Call {
        self.migration = Some(version.into());
        self
    }

    /// Always asks DynamoDB for the capacity the request consumes (a migration paces
    /// itself in write units), whatever the table's setting.
    pub fn with_capacity(mut self) -> Call {
        self.capacity = true;
        self
    }

    /// The onetable operation.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The entity.
    pub fn entity(&self) -> &'static str {
        self.entity
    }
}
