//! What can go wrong in storage, as the layers above need to tell it apart.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A UNIQUE constraint refused the write: someone else got there first.
    #[error("a unique constraint refused the write: {0}")]
    Conflict(String),
    /// The database or store could not do its job (down, misconfigured, corrupt data).
    #[error(transparent)]
    Unavailable(#[from] anyhow::Error),
}

impl StoreError {
    /// An `Unavailable` error from a message.
    pub fn unavailable(message: impl std::fmt::Display) -> Self {
        Self::Unavailable(anyhow::anyhow!("{message}"))
    }
}
