//! What DynamoDB returned about a refused write: the item its condition was
//! evaluated on, and every failed action of a cancelled transaction.

use super::Error;

/// The items a refused write's conditions were evaluated on.
#[derive(Debug, Default)]
pub(super) struct Refused {
    /// The item that made the write fail (a transaction: its first failed action's).
    current: Option<crate::Item>,
    /// Every failed action of a cancelled transaction.
    actions: Vec<FailedAction>,
}

/// One action of a cancelled transaction whose condition failed, and the item its
/// condition was evaluated on, as DynamoDB returned it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FailedAction {
    /// The action's position in the transaction (sentinels and checks the library
    /// adds count too).
    pub index: usize,
    /// The entity whose item the action writes or checks; `None` for a unique-field
    /// sentinel (its item is the sentinel).
    pub entity: Option<&'static str>,
    /// The key of the action's item, as text.
    pub key: String,
    /// The item under that key when the condition failed; `None` when there was none.
    pub item: Option<crate::Item>,
}

impl FailedAction {
    /// A failed action of `entity`'s item (`None`: a sentinel).
    pub fn new(index: usize, entity: Option<&'static str>, key: String, item: Option<crate::Item>) -> Self {
        FailedAction { index, entity, key, item }
    }
}

impl Error {
    /// The item that made the write's condition fail, as DynamoDB returned it
    /// (`ReturnValuesOnConditionCheckFailure: ALL_OLD`): for a refused create, put,
    /// update or removal, and the failed action of a transaction. `None` when there
    /// was no item under the key, or for any other error. `Model::from_item` reads
    /// it as the entity.
    pub fn current_item(&self) -> Option<&crate::Item> {
        self.refused.as_ref().and_then(|r| r.current.as_ref())
    }

    /// This error, with the item its condition was evaluated on.
    pub fn with_current_item(mut self, item: Option<crate::Item>) -> Error {
        self.refused.get_or_insert_with(Box::default).current = item;
        self
    }

    /// Every action of a cancelled transaction whose condition failed, in order, with
    /// the item each was evaluated on (the error's kind names the first). Empty for
    /// any other error. `Model::current_of` reads an action's item as its entity.
    pub fn failed_actions(&self) -> &[FailedAction] {
        self.refused.as_ref().map_or(&[], |r| &r.actions)
    }

    /// This error, with the failed actions of its transaction.
    pub fn with_failed_actions(mut self, actions: Vec<FailedAction>) -> Error {
        self.refused.get_or_insert_with(Box::default).actions = actions;
        self
    }
}
