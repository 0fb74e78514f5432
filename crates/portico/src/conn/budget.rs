//! The socket budget: how the TCP stack's sockets are shared out.

use core::fmt;

/// How many sockets the TCP stack has and who may use them.
///
/// On the device every socket is real RAM in smoltcp/lwIP; the HTTP server may take only
/// `max_sockets` of them, the accept backlog holds at most `backlog` more, and the rest
/// stays free for the stack and for outbound links (the WebSocket client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Sockets in the TCP stack.
    pub stack_sockets: usize,
    /// Sockets the HTTP server may hold open.
    pub max_sockets: usize,
    /// Accepted-but-unserved connections held while the table is full.
    pub backlog: usize,
    /// Sockets kept for outbound links and the stack itself.
    pub reserved: usize,
}

/// Why a budget was refused at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetError {
    /// `max_sockets` is zero.
    NoHttpSockets,
    /// HTTP sockets + backlog + reserve exceed the stack's sockets.
    Overcommitted {
        /// What the budget asks for.
        needed: usize,
        /// What the stack has.
        available: usize,
    },
}

impl fmt::Display for BudgetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BudgetError::NoHttpSockets => f.write_str("at least one HTTP socket is needed"),
            BudgetError::Overcommitted { needed, available } => write!(
                f,
                "socket budget overcommitted: HTTP sockets + reserve need {needed} but the \
                 stack has {available}"
            ),
        }
    }
}

impl core::error::Error for BudgetError {}

impl Budget {
    /// Sockets always kept out of the HTTP server's reach.
    pub const MIN_RESERVED: usize = 2;
    /// Largest accept backlog.
    pub const MAX_BACKLOG: usize = 4;

    /// Builds a budget from the two numbers a user sets, sizing the backlog from what is
    /// left after the reserve.
    pub fn new(stack_sockets: usize, max_sockets: usize) -> Result<Self, BudgetError> {
        if max_sockets == 0 {
            return Err(BudgetError::NoHttpSockets);
        }
        let needed = max_sockets + Self::MIN_RESERVED;
        if needed > stack_sockets {
            return Err(BudgetError::Overcommitted {
                needed,
                available: stack_sockets,
            });
        }
        let spare = stack_sockets - needed;
        let backlog = spare.min(Self::MAX_BACKLOG);
        Ok(Budget {
            stack_sockets,
            max_sockets,
            backlog,
            reserved: stack_sockets - max_sockets - backlog,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refusals() {
        let b = Budget::new(32, 24).unwrap();
        assert_eq!((b.backlog, b.reserved), (4, 4));
        assert_eq!(Budget::new(32, 0).unwrap_err(), BudgetError::NoHttpSockets);
        assert!(matches!(
            Budget::new(32, 31),
            Err(BudgetError::Overcommitted {
                needed: 33,
                available: 32
            })
        ));
        let tight = Budget::new(9, 7).unwrap();
        assert_eq!((tight.backlog, tight.reserved), (0, 2));
    }
}
