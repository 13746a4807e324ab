// Package ledger is the loyalty-points application: one point account per
// user, its append-only history of transactions, and the use cases over
// them (the welcome bonus, balance and history reads, deposits and
// withdrawals) together with the rules on who may do what.
//
// # Rules
//
//   - Every API call is made with an access token, which the Authenticator
//     (sso) turns into a Caller: no token is ErrUnauthenticated, a token sso
//     rejects is ErrInvalidToken, and sso not answering is
//     ErrAuthUnavailable.
//   - Users read their own account and history; administrators read any,
//     and only they deposit and withdraw. Anything else is ErrForbidden.
//   - An account is opened by the user's welcome bonus and never otherwise:
//     reads and writes of an account that does not exist yet are
//     ErrNotFound. Each user gets the welcome bonus exactly once, however
//     often and under whichever event ids UserRegistered arrives.
//   - A balance never goes below zero (ErrInsufficientFunds) nor beyond what
//     an int64 holds (ErrBalanceOverflow).
//   - Deposits and withdrawals carry an idempotency key, scoped to the
//     account: a retry with the key of an operation already applied changes
//     nothing and returns the balance that operation produced; the key of a
//     different operation (another kind, amount or reason) is
//     ErrIdempotencyKeyReused.
//
// Storage (Store) and authentication (Authenticator) are ports, declared
// here and implemented by the postgres and sso packages.
package ledger
